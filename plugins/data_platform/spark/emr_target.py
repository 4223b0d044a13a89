"""The aws target of ``SparkJobOperator``: one EMR Serverless job run per task instance.

Beyond the provider's ``EmrServerlessStartJobOperator``: a retry reattaches to the run an earlier
try started (found by its deterministic name and identity tags) instead of starting a second one;
a run still being cancelled is waited for before a new one starts; every wait (in the worker or
deferred to the triggerer) ends at the task's deadline, where the run is cancelled; a deferral
that times out cancels the run too; the tail of the driver's logs is copied into the task log.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.links.emr import (
    EmrServerlessDashboardLink,
    EmrServerlessS3LogsLink,
    get_serverless_log_uri,
)
from airflow.providers.amazon.aws.triggers.emr import EmrServerlessStartJobTrigger
from airflow.sdk.exceptions import AirflowException, AirflowTaskTimeout
from botocore.exceptions import BotoCoreError, ClientError

from data_platform.settings import Target
from data_platform.spark.emr_request import TAG_VERSION, build_start_job_run_request, job_tags
from data_platform.spark.hooks import ACTIVE_STATES, CANCELLING, ENDED_STATES, JobRunRef
from data_platform.spark.identity import TAG_TI, TAG_TRY_GROUP, TaskRunIdentity
from data_platform.spark.jobs import normalize_entry_point
from data_platform.spark.logs import fetch_driver_logs
from data_platform.spark.versions import VersionPin

if TYPE_CHECKING:
    from data_platform.settings import PlatformSettings
    from data_platform.spark.environments import SparkEnvironment
    from data_platform.spark.operators import SparkJobOperator

DEFER_TIMEOUT_MARGIN = timedelta(minutes=2)
LOG_TAIL_LINES = 200


def seconds_until(deadline: datetime) -> float:
    return (deadline - datetime.now(UTC)).total_seconds()


class EmrServerlessTarget:
    """Start or reattach, wait (or defer), finish: the job run of ``operator``'s task instance."""

    def __init__(
        self,
        operator: SparkJobOperator,
        settings: PlatformSettings,
        environment: SparkEnvironment,
        context: Any,
    ) -> None:
        self.operator = operator
        self.settings = settings
        self.environment = environment
        self.emr = environment.require_emr()
        self.hook = operator.hook
        self.identity = TaskRunIdentity.from_context(context, operator.retries or 0)
        self.current: JobRunRef | None = None  # the run this task follows (what kill() cancels)
        self.delay = max(1, int(operator.poll_interval))

    @property
    def log(self) -> Any:
        return self.operator.log

    # --- the interface of a target ------------------------------------------------------------
    def run(self, context: Any) -> dict[str, Any]:
        deadline = self.operator.deadline()
        run, reattached = self._start_or_reattach(context, deadline)
        ref = JobRunRef(run["applicationId"], run["jobRunId"])
        record = self.operator.record(context, self._record(run, reattached))
        self._persist_links(context, ref)
        if run["state"] not in ENDED_STATES:
            if self.operator.deferrable:
                self._defer(ref, record, deadline)
            run = self._wait(ref, deadline)
            if run["state"] not in ENDED_STATES:
                return self._time_out(context, ref, record, f"still {run['state']} at {deadline.isoformat()}")
        return self._finish(context, run, record)

    def kill(self) -> None:
        if self.current is not None:
            self.hook.cancel_job_run(self.current, "the task was killed")

    # --- back from the triggerer --------------------------------------------------------------
    def resume(
        self, context: Any, event: dict[str, Any] | None, record: dict[str, Any], deadline: str
    ) -> dict[str, Any]:
        """The service's state of the run decides, not the event alone: a run still going before
        the deadline (the trigger gave up on an error) is waited for again; at the deadline it is
        cancelled."""
        self.current = ref = JobRunRef(record["application_id"], record["job_run_id"])
        self.operator.spark_job_run = record
        run = self.hook.get_job_run(ref)
        if run["state"] in ENDED_STATES:
            return self._finish(context, run, record)
        message = (event or {}).get("message") or "the trigger stopped waiting"
        if seconds_until(datetime.fromisoformat(deadline)) > self.operator.poll_interval:
            self.log.warning(
                "Trigger ended (%s) while run %s is %s; waiting again", message, ref.job_run_id, run["state"]
            )
            self._defer(ref, record, datetime.fromisoformat(deadline))
        return self._time_out(context, ref, record, message)

    def cancel_active_runs(self, reason: str) -> list[str]:
        """Cancel this task instance's runs still active (when a deferred wait timed out)."""
        active = [run for run in self._previous_runs() if run["state"] in ACTIVE_STATES]
        for run in active:
            self.hook.cancel_job_run(JobRunRef(run["applicationId"], run["jobRunId"]), reason)
        return [run["jobRunId"] for run in active]

    # --- starting -----------------------------------------------------------------------------
    def _previous_runs(self) -> list[dict[str, Any]]:
        """This task instance's runs (every try group), newest first.

        ListJobRuns narrows by the deterministic name; GetJobRun's tags confirm the identity
        (names can be cut short, tags hold the exact hash).
        """
        since = datetime.now(UTC) - timedelta(hours=self.emr.reattach_lookback_hours)
        ids = self.hook.job_run_ids_named(self.emr.application_id, self.identity.job_name, since)
        runs = [self.hook.get_job_run(JobRunRef(self.emr.application_id, job_run_id)) for job_run_id in ids]
        mine = [run for run in runs if (run.get("tags") or {}).get(TAG_TI) == self.identity.ti_key]
        return sorted(mine, key=lambda run: run["createdAt"], reverse=True)

    def _start_or_reattach(self, context: Any, deadline: datetime) -> tuple[dict[str, Any], bool]:
        """The run to follow and whether an earlier try started it (reattached).

        - a run of this task instance still active (any try group): reattach, never start another;
        - a successful run in this try group: reattach (a retry must not redo finished work; a
          cleared task is a new group and runs again);
        - otherwise wait for runs still cancelling, then start a new run with the group's next
          client token.
        """
        runs = self._previous_runs()
        active = [run for run in runs if run["state"] in ACTIVE_STATES]
        group = [
            r for r in runs if (r.get("tags") or {}).get(TAG_TRY_GROUP) == str(self.identity.first_try_number)
        ]
        succeeded = [run for run in group if run["state"] == "SUCCESS"]
        if active or succeeded:
            run = (active or succeeded)[0]
            self.current = JobRunRef(run["applicationId"], run["jobRunId"])
            self.log.info(
                "Reattaching to job run %s (%s) started by an earlier try", run["jobRunId"], run["state"]
            )
            return run, True
        for run in runs:
            if run["state"] == CANCELLING:
                self.log.info(
                    "Waiting for job run %s to finish cancelling before starting a new one", run["jobRunId"]
                )
                ended = self._wait(JobRunRef(run["applicationId"], run["jobRunId"]), deadline)
                if ended["state"] not in ENDED_STATES:
                    raise AirflowTaskTimeout(
                        f"Spark job {self.operator.job}: job run {run['jobRunId']} still {ended['state']} "
                        f"at {deadline.isoformat()}; no new run was started."
                    )
        if group:
            self.log.info(
                "Earlier runs of this try group ended %s; starting a new run",
                [f"{r['jobRunId']}={r['state']}" for r in group],
            )
        self.hook.ensure_application_started(self.emr.application_id, self.delay, self._attempts(deadline))
        request = self._build_request(context, self.identity.client_token(len(group)))
        self.current = ref = self.hook.start_job_run(request)
        self.log.info(
            "Started EMR Serverless job run %s on application %s", ref.job_run_id, ref.application_id
        )
        return self.hook.get_job_run(ref), False

    def _build_request(self, context: Any, client_token: str) -> dict[str, Any]:
        from data_platform.spark.artifacts import open_store, resolve_artifact

        operator, emr = self.operator, self.emr
        store = open_store(
            self.settings.artifacts_root, aws_conn_id=self.hook.aws_conn_id, region=self.hook.region_name
        )
        artifact = resolve_artifact(store, operator.job, VersionPin.parse(operator.version))
        entry_points = artifact.manifest.entry_points
        module = normalize_entry_point(operator.entry_point) if operator.entry_point else entry_points[0]
        if module not in entry_points:
            raise AirflowException(
                f"Entry point {module!r} is not in {operator.job} {artifact.version} (has "
                f"{list(entry_points)}); pin a version that has it."
            )
        self.log.info(
            "Resolved %s version=%r to %s (%s)",
            operator.job,
            operator.version,
            artifact.version,
            artifact.base_uri,
        )
        where = f"EMR Serverless application {emr.application_id}, environment {self.environment.name}"
        conf = operator.spark_conf(
            Target.AWS,
            self.environment,
            artifact.manifest.profiles,
            where,
            artifact=artifact.spark_conf(),
        )
        if emr.openlineage_parent_job_info:
            conf = conf.with_openlineage_parent(context)
        tags = job_tags(
            environment_tags=emr.tags,
            task_tags=operator.tags,
            identity=self.identity,
            job=operator.job,
            version=str(artifact.version),
        )
        return build_start_job_run_request(
            emr=emr,
            identity=self.identity,
            client_token=client_token,
            entry_point_uri=artifact.launcher_uri,
            module=module,
            args=operator.job_arguments(),
            spark_properties=conf.values,
            tags=tags,
            execution_timeout=operator.timeout(),
        )

    # --- following ----------------------------------------------------------------------------
    def _attempts(self, deadline: datetime) -> int:
        """Polls ``self.delay`` seconds apart that fit before ``deadline`` (at least one)."""
        return int(max(seconds_until(deadline), 0) // self.delay) + 1

    def _wait(self, ref: JobRunRef, deadline: datetime) -> dict[str, Any]:
        """The run once it ended, or as it is at ``deadline``."""
        return self.hook.wait_for_job_run(ref, self.delay, self._attempts(deadline))

    def _defer(self, ref: JobRunRef, record: dict[str, Any], deadline: datetime) -> None:
        operator = self.operator
        remaining = max(seconds_until(deadline), 1)
        operator.defer(
            trigger=EmrServerlessStartJobTrigger(
                application_id=ref.application_id,
                job_id=ref.job_run_id,
                waiter_delay=self.delay,
                waiter_max_attempts=max(1, math.ceil(remaining / self.delay)),
                aws_conn_id=self.hook.aws_conn_id,
                cancel_on_kill=True,
                region_name=operator.region_name,
                verify=operator.verify,
                botocore_config=operator.botocore_config,
            ),
            method_name="execute_complete",
            kwargs={"record": record, "deadline": deadline.isoformat()},
            timeout=timedelta(seconds=remaining) + DEFER_TIMEOUT_MARGIN,
        )

    # --- ending -------------------------------------------------------------------------------
    def _record(self, run: dict[str, Any], reattached: bool) -> dict[str, Any]:
        prefix = get_serverless_log_uri(
            s3_log_uri=self.emr.log_uri, application_id=run["applicationId"], job_run_id=run["jobRunId"]
        )
        return {
            "target": "aws",
            "job": self.operator.job,
            "version": (run.get("tags") or {}).get(TAG_VERSION),
            "application_id": run["applicationId"],
            "job_run_id": run["jobRunId"],
            "state": run["state"],
            "reattached": reattached,
            "region": self.hook.conn_region_name,
            "log_uri": self.emr.log_uri,
            "driver_log_uri": f"{prefix}/SPARK_DRIVER/",
        }

    def _persist_links(self, context: Any, ref: JobRunRef) -> None:
        """The provider's extra links: the run's S3 log folder, and (opt-in) its Spark UI, whose
        one-time URL the UI asks GetDashboardForJobRun for when the link is opened."""
        where = {
            "context": context,
            "operator": self.operator,
            "region_name": self.hook.conn_region_name,
            "aws_partition": self.hook.conn_partition,
            "application_id": ref.application_id,
            "job_run_id": ref.job_run_id,
        }
        EmrServerlessS3LogsLink.persist(**where, log_uri=self.emr.log_uri)
        if self.emr.dashboard_links:
            EmrServerlessDashboardLink.persist(**where, conn_id=self.hook.aws_conn_id)

    def _time_out(self, context: Any, ref: JobRunRef, record: dict[str, Any], reason: str) -> dict[str, Any]:
        self.hook.cancel_job_run(ref, "execution_timeout reached")
        run = self.hook.get_job_run(ref)
        self.operator.record(context, {**self._tail_driver_logs(run, record), "state": run["state"]})
        raise AirflowTaskTimeout(
            f"Spark job {self.operator.job} run {ref.job_run_id} exceeded execution_timeout "
            f"{self.operator.execution_timeout} ({reason}); cancellation requested, state now {run['state']}."
        )

    def _finish(self, context: Any, run: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        final = self.operator.record(context, {**self._tail_driver_logs(run, record), "state": run["state"]})
        if run["state"] != "SUCCESS":
            details = run.get("stateDetails") or "no state details"
            raise AirflowException(
                f"Spark job {self.operator.job} {record.get('version')} run {run['jobRunId']} on application "
                f"{run['applicationId']} ended {run['state']}: {details}. Driver logs: {final['driver_log_uri']}"
            )
        return final

    def _tail_driver_logs(self, run: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        """Copy the tail of the driver's stdout/stderr into the task log (never fails the task);
        the record with the folder the logs were found in."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        try:
            s3 = S3Hook(aws_conn_id=self.hook.aws_conn_id, region_name=self.hook.region_name).conn
            logs = fetch_driver_logs(s3, self.emr.log_uri, run, LOG_TAIL_LINES)
        except (ClientError, BotoCoreError) as err:
            self.log.warning("Could not read the driver logs of job run %s: %s", run["jobRunId"], err)
            return record
        if logs is None:
            self.log.info("No driver logs for job run %s under %s (yet)", run["jobRunId"], self.emr.log_uri)
            return record
        for stream, lines in logs.lines.items():
            cut = logs.truncated[stream]
            note = f", first {cut} lines left out" if cut else ""
            self.log.info("---- driver %s (%s/%s.gz%s) ----", stream, logs.prefix, stream, note)
            for line in lines:
                self.log.info("[driver %s] %s", stream, line)
        return {**record, "driver_log_uri": f"{logs.prefix}/"}
