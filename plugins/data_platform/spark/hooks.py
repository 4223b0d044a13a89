"""The AWS calls of a Spark task: the provider's ``EmrServerlessHook`` plus what a task needs more.

A cross-account application is reached through the Airflow connection the task uses: give that
AWS connection a ``role_arn`` extra and the provider assumes the role (refreshable credentials).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow.providers.amazon.aws.exceptions import WaiterMaxAttemptsError, WaiterTerminalFailure
from airflow.providers.amazon.aws.hooks.emr import EmrServerlessHook
from airflow.providers.amazon.aws.utils.waiter_with_logging import wait
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

# The provider's intermediate states, plus QUEUED (runs waiting for the application's
# job concurrency limit, which the provider's set leaves out).
ACTIVE_STATES = frozenset(EmrServerlessHook.JOB_INTERMEDIATE_STATES | {"QUEUED"})
CANCELLING = "CANCELLING"
# Ended: the provider's terminal states without CANCELLING (a run being cancelled still holds
# resources; a new run of the same task instance waits for it).
ENDED_STATES = frozenset(EmrServerlessHook.JOB_TERMINAL_STATES - {CANCELLING})


@dataclass(frozen=True)
class JobRunRef:
    application_id: str
    job_run_id: str


class SparkEmrServerlessHook(EmrServerlessHook):
    """``EmrServerlessHook`` with the calls of one task instance's job runs."""

    def get_job_run(self, ref: JobRunRef) -> dict[str, Any]:
        """The GetJobRun ``jobRun`` shape (``state``, ``stateDetails``, ``tags``, ``createdAt``...)."""
        response = self.conn.get_job_run(applicationId=ref.application_id, jobRunId=ref.job_run_id)
        return dict(response["jobRun"])

    def job_run_ids_named(self, application_id: str, name: str, created_after: datetime) -> list[str]:
        """Ids of the runs called ``name`` created after ``created_after`` (ListJobRuns, all pages)."""
        paginator = self.conn.get_paginator("list_job_runs")
        pages = paginator.paginate(applicationId=application_id, createdAtAfter=created_after)
        return [run["id"] for page in pages for run in page["jobRuns"] if run.get("name") == name]

    def ensure_application_started(self, application_id: str, delay: int, max_attempts: int) -> None:
        """Start a stopped application and wait for it (the provider's waiters).

        :raises AirflowException: the application is TERMINATED (a new application id is needed).
        """
        state = self.conn.get_application(applicationId=application_id)["application"]["state"]
        if state in self.APPLICATION_SUCCESS_STATES:
            return
        if state == "TERMINATED":
            raise AirflowException(
                f"EMR Serverless application {application_id} is TERMINATED; set a live application_id "
                "in include/spark/environments.yaml."
            )
        args = {"applicationId": application_id}
        if state in ("STOPPING", "STOPPED"):
            if state == "STOPPING":
                wait(
                    self.get_waiter("serverless_app_stopped"),
                    delay,
                    max_attempts,
                    args,
                    "Application did not stop",
                    "Application state is",
                    ["application.state"],
                )
            self.log.info("Starting EMR Serverless application %s (was %s)", application_id, state)
            self.conn.start_application(applicationId=application_id)
        wait(
            self.get_waiter("serverless_app_started"),
            delay,
            max_attempts,
            args,
            "Application failed to start",
            "Application state is",
            ["application.state", "application.stateDetails"],
        )

    def start_job_run(self, request: dict[str, Any]) -> JobRunRef:
        """StartJobRun with a complete request (see ``emr_request.build_start_job_run_request``)."""
        response = self.conn.start_job_run(**request)
        return JobRunRef(response["applicationId"], response["jobRunId"])

    def wait_for_job_run(self, ref: JobRunRef, delay: int, max_attempts: int) -> dict[str, Any]:
        """Poll with the provider's ``serverless_job_completed`` waiter; return the run as it is then.

        The caller decides on the returned state (ended or not): neither a failed run nor running
        out of attempts raises here.
        """
        try:
            wait(
                self.get_waiter("serverless_job_completed"),
                delay,
                max_attempts,
                {"applicationId": ref.application_id, "jobRunId": ref.job_run_id},
                f"Job run {ref.job_run_id} did not succeed",
                f"Job run {ref.job_run_id} is",
                ["jobRun.state", "jobRun.stateDetails"],
            )
        except (WaiterTerminalFailure, WaiterMaxAttemptsError):
            pass
        return self.get_job_run(ref)

    def cancel_job_run(self, ref: JobRunRef, reason: str) -> None:
        """Ask the service to cancel the run (a run that already ended is left alone)."""
        self.log.warning("Cancelling job run %s (%s)", ref.job_run_id, reason)
        try:
            self.conn.cancel_job_run(applicationId=ref.application_id, jobRunId=ref.job_run_id)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ValidationException":
                raise
            self.log.info(
                "Job run %s was not cancelled: %s", ref.job_run_id, err.response["Error"]["Message"]
            )
