"""Start, find again, wait for and cancel the EMR Serverless job run of one task instance.

Beyond the provider operator: a retry reattaches to the run an earlier try started (found by its
deterministic name and identity tags) instead of starting a second one; the wait ends at the
task's deadline whatever the mode; a run that is still being cancelled is waited for before a new
one starts, so two runs of one task instance never overlap.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.amazon.aws.utils.waiter_with_logging import wait
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from data_platform.spark.emr_hooks import SparkEmrServerlessHook
from data_platform.spark.environments import EmrServerlessConfig
from data_platform.spark.identity import TAG_TI, TAG_TRY_GROUP, TaskRunIdentity

ACTIVE_STATES = frozenset({"SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED"})
TERMINAL_STATES = frozenset({"SUCCESS", "FAILED", "CANCELLED"})
CANCELLING = "CANCELLING"


class JobRunDeadlineExceeded(Exception):
    """The job run had not ended by the task's deadline."""


@dataclass(frozen=True)
class JobRunRef:
    application_id: str
    job_run_id: str


def seconds_until(deadline: datetime) -> float:
    return (deadline - datetime.now(UTC)).total_seconds()


class EmrServerlessJobRunner:
    def __init__(
        self,
        hook: SparkEmrServerlessHook,
        emr: EmrServerlessConfig,
        identity: TaskRunIdentity,
        poll_interval: float,
        log: logging.Logger,
    ):
        self.hook = hook
        self.emr = emr
        self.identity = identity
        self.poll_interval = poll_interval
        self.log = log
        self.current: JobRunRef | None = None  # the run this task follows (what on_kill cancels)

    # --- reading -------------------------------------------------------------------------------
    def describe(self, ref: JobRunRef) -> dict[str, Any]:
        return self.hook.conn.get_job_run(applicationId=ref.application_id, jobRunId=ref.job_run_id)["jobRun"]

    def previous_runs(self) -> list[dict[str, Any]]:
        """This task instance's runs (every try group), newest first.

        ListJobRuns narrows by the deterministic name; GetJobRun's tags confirm the identity
        (names can be cut short, tags hold the exact hash).
        """
        since = datetime.now(UTC) - timedelta(hours=self.emr.reattach_lookback_hours)
        paginator = self.hook.conn.get_paginator("list_job_runs")
        pages = paginator.paginate(applicationId=self.emr.application_id, createdAtAfter=since)
        candidates = [
            s["id"] for page in pages for s in page["jobRuns"] if s.get("name") == self.identity.job_name
        ]
        runs = []
        for job_run_id in candidates:
            run = self.describe(JobRunRef(self.emr.application_id, job_run_id))
            if (run.get("tags") or {}).get(TAG_TI) == self.identity.ti_key:
                runs.append(run)
        return sorted(runs, key=lambda r: r["createdAt"], reverse=True)

    # --- starting ------------------------------------------------------------------------------
    def ensure_application_started(self, deadline: datetime) -> None:
        """Start a stopped application and wait for it (the provider's waiter), as the provider does."""
        app_id = self.emr.application_id
        state = self.hook.conn.get_application(applicationId=app_id)["application"]["state"]
        if state in self.hook.APPLICATION_SUCCESS_STATES:
            return
        if state == "TERMINATED":
            raise AirflowException(
                f"EMR Serverless application {app_id} is TERMINATED; set a live application_id in "
                "include/spark/environments.yaml."
            )
        delay = max(1, int(self.poll_interval))
        attempts = max(1, math.ceil(max(seconds_until(deadline), 1) / delay))
        if state in ("STOPPING", "STOPPED"):
            if state == "STOPPING":
                wait(
                    self.hook.get_waiter("serverless_app_stopped"),
                    delay,
                    attempts,
                    {"applicationId": app_id},
                    "Application did not stop",
                    "Application state is",
                    ["application.state"],
                )
            self.log.info("Starting EMR Serverless application %s (was %s)", app_id, state)
            self.hook.conn.start_application(applicationId=app_id)
        wait(
            self.hook.get_waiter("serverless_app_started"),
            delay,
            attempts,
            {"applicationId": app_id},
            "Application failed to start",
            "Application state is",
            ["application.state", "application.stateDetails"],
        )

    def start_or_reattach(
        self, build_request: Callable[[str], dict[str, Any]], deadline: datetime
    ) -> tuple[dict[str, Any], bool]:
        """The run to follow and whether it was started by an earlier try (reattached).

        - a run of this task instance still active (any try group): reattach, never start another;
        - a successful run in this try group: reattach (a retry must not redo finished work; a
          cleared task is a new group and runs again);
        - otherwise wait for runs still cancelling, then start a new run with the group's next
          client token.
        """
        runs = self.previous_runs()
        active = [r for r in runs if r["state"] in ACTIVE_STATES]
        if active:
            self.current = JobRunRef(active[0]["applicationId"], active[0]["jobRunId"])
            self.log.info(
                "Reattaching to job run %s (%s) started by an earlier try",
                active[0]["jobRunId"],
                active[0]["state"],
            )
            return active[0], True
        group = [
            r for r in runs if (r.get("tags") or {}).get(TAG_TRY_GROUP) == str(self.identity.first_try_number)
        ]
        succeeded = [r for r in group if r["state"] == "SUCCESS"]
        if succeeded:
            self.log.info(
                "Job run %s of this try group already succeeded; not starting another",
                succeeded[0]["jobRunId"],
            )
            return succeeded[0], True
        for run in runs:
            if run["state"] == CANCELLING:
                self.log.info(
                    "Waiting for job run %s to finish cancelling before starting a new one", run["jobRunId"]
                )
                self.wait(JobRunRef(run["applicationId"], run["jobRunId"]), deadline)
        if group:
            self.log.info(
                "Earlier runs of this try group ended %s; starting a new run",
                [f"{r['jobRunId']}={r['state']}" for r in group],
            )
        self.ensure_application_started(deadline)
        request = build_request(self.identity.client_token(len(group)))
        response = self.hook.conn.start_job_run(**request)
        self.current = ref = JobRunRef(response["applicationId"], response["jobRunId"])
        self.log.info(
            "Started EMR Serverless job run %s on application %s", ref.job_run_id, ref.application_id
        )
        return self.describe(ref), False

    # --- following -----------------------------------------------------------------------------
    def wait(self, ref: JobRunRef, deadline: datetime) -> dict[str, Any]:
        """Poll until the run ends; JobRunDeadlineExceeded at ``deadline``."""
        last_state = None
        while True:
            run = self.describe(ref)
            state = run["state"]
            if state != last_state:
                details = f": {run['stateDetails']}" if run.get("stateDetails") else ""
                self.log.info("Job run %s is %s%s", ref.job_run_id, state, details)
                last_state = state
            if state in TERMINAL_STATES:
                return run
            remaining = seconds_until(deadline)
            if remaining <= 0:
                raise JobRunDeadlineExceeded(
                    f"job run {ref.job_run_id} still {state} at {deadline.isoformat()}"
                )
            time.sleep(min(self.poll_interval, remaining))

    def cancel(self, ref: JobRunRef, reason: str) -> None:
        """Ask the service to cancel the run (a run that already ended is left alone)."""
        self.log.warning("Cancelling job run %s (%s)", ref.job_run_id, reason)
        try:
            self.hook.conn.cancel_job_run(applicationId=ref.application_id, jobRunId=ref.job_run_id)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ValidationException":
                raise
            self.log.info(
                "Job run %s was not cancelled: %s", ref.job_run_id, err.response["Error"]["Message"]
            )

    def cancel_active_runs(self, reason: str) -> list[str]:
        """Cancel this task instance's runs still active (used when a deferred wait timed out)."""
        cancelled = []
        for run in self.previous_runs():
            if run["state"] in ACTIVE_STATES:
                self.cancel(JobRunRef(run["applicationId"], run["jobRunId"]), reason)
                cancelled.append(run["jobRunId"])
        return cancelled
