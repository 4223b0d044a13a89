"""``SparkJob``: run a versioned Spark job on EMR Serverless (aws) or spark-submit (local).

One DAG line per job, the same on both targets (chosen at run time by PIPELINE_TARGET)::

    SparkJob(task_id="merge_batch", job="cdc_merge", version="1.2",
             entry_point="spark_jobs.cdc.merge_job", args=["--run-id", "{{ run_id }}"],
             conf={"spark.executor.memory": "8g"}, alert_policy=ALERT_POLICY_CRITICAL)

Importing this module stays cheap (no boto3/provider imports): the AWS machinery is imported
inside ``execute``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR
from airflow.sdk.exceptions import AirflowException, AirflowTaskTimeout

from data_platform.alerting import AlertPolicy
from data_platform.spark.jobs import get_job, normalize_entry_point
from data_platform.spark.links import SparkDashboardLink, SparkDriverLogsLink
from data_platform.spark.versions import VersionPin

if TYPE_CHECKING:
    from data_platform.settings import PlatformSettings
    from data_platform.spark.conf import SparkConf
    from data_platform.spark.emr_runner import EmrServerlessJobRunner, JobRunRef
    from data_platform.spark.environments import SparkEnvironment
    from data_platform.spark.jobs import JobSpec
    from data_platform.spark.local_runner import LocalSparkSubmit

DEFAULT_EXECUTION_TIMEOUT = timedelta(hours=6)
DEFER_TIMEOUT_MARGIN = timedelta(minutes=2)
CLEANUP_GRACE = timedelta(minutes=1)
LOG_TAIL_LINES = 200
XCOM_KEY = "spark_job"
_TEMPLATED = re.compile(r"{{|{%")


def _callbacks(value: Any) -> list[Any]:
    if not value:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _with_alert_policy(policy: AlertPolicy | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Add the policy's failure/retry notifiers to the task's own callbacks."""
    if policy is None:
        return kwargs
    for key, notifiers in policy.task_callbacks().items():
        kwargs[key] = [*_callbacks(kwargs.get(key)), *notifiers]
    return kwargs


class SparkJob(BaseOperator):
    """Run ``entry_point`` of Spark job ``job`` at artifact version ``version``.

    :param job: job name in include/spark/jobs.yaml.
    :param version: pin of the deployed artifact: ``"1"``, ``"1.2"`` or ``"1.2.3"`` (aws); the
        local target runs the working tree and only warns when the pin does not match it.
    :param entry_point: module (``spark_jobs.cdc.merge``) or file (``spark_jobs/cdc/merge.py``)
        declared for the job; default: the job's first entry point.
    :param args: arguments of the job (templated; mappable with ``.expand(args=...)``).
    :param conf: Spark conf overrides, the last layer (templated).
    :param tags: job run tags such as ``{"team": "...", "owner": "..."}`` (templated).
    :param secrets: logical secret names the job reads (``["datadog"]``). Local target: passed to
        spark-submit as ``<NAME>_CONN`` (the Airflow connection as JSON, masked), as for pod
        tasks; aws: nothing is passed, the job reads Secrets Manager with its execution role.
    :param alert_policy: e.g. ``ALERT_POLICY_CRITICAL``: its failure/retry notifiers become the
        task's callbacks (add the DAG-level deadline with ``policy.deadline_alert(...)``).
    :param poll_interval: seconds between status checks of the EMR Serverless job run.
    :param deferrable: wait on the triggerer instead of a worker slot (aws target).
    :param execution_timeout: the task's limit (default 6 h), enforced in every mode, also set as
        the job run's own ``executionTimeoutMinutes``; the run is cancelled when it is reached.
    """

    template_fields: Sequence[str] = ("args", "conf", "version", "entry_point", "tags")
    template_fields_renderers: ClassVar[dict[str, str]] = {"conf": "json", "tags": "json"}
    operator_extra_links = (SparkDriverLogsLink(), SparkDashboardLink())
    ui_color = "#fbe3c9"

    def __init__(
        self,
        *,
        job: str,
        version: str,
        entry_point: str | None = None,
        args: Sequence[str] | None = None,
        conf: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        alert_policy: AlertPolicy | None = None,
        poll_interval: float = 30,
        deferrable: bool = False,
        execution_timeout: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs = _with_alert_policy(alert_policy, kwargs)
        super().__init__(execution_timeout=execution_timeout or DEFAULT_EXECUTION_TIMEOUT, **kwargs)
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive seconds, got {poll_interval!r}.")
        spec = get_job(job)  # unknown job or undeclared entry point: a DAG import error, not a run error
        if not _TEMPLATED.search(str(version)):
            VersionPin.parse(version)
        if entry_point is not None and not _TEMPLATED.search(entry_point):
            spec.entry_module(entry_point)
        self.job = job
        self.version = version
        self.entry_point = entry_point
        self.args = list(args or [])
        self.conf = dict(conf or {})
        self.tags = dict(tags or {})
        self.secrets = list(secrets)
        self.alert_policy = alert_policy
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self.spark_job_run: dict[str, Any] | None = None
        self._local: LocalSparkSubmit | None = None
        self._runner: EmrServerlessJobRunner | None = None

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:  # type: ignore[override]
        """``BaseOperator.partial``, with the alert policy turned into callbacks the mapped task declares."""
        if "job" in kwargs:
            get_job(kwargs["job"])
        return super().partial(**_with_alert_policy(kwargs.pop("alert_policy", None), kwargs))

    # --- shared ---------------------------------------------------------------------------------
    def _deadline(self) -> datetime:
        """When this try gives up: a little before Airflow's own execution_timeout fires, so the
        run is cancelled and its logs are copied before the task is interrupted."""
        timeout = self.execution_timeout or DEFAULT_EXECUTION_TIMEOUT
        return datetime.now(UTC) + timeout - min(CLEANUP_GRACE, timeout * 0.05)

    def _log_conf(self, conf: SparkConf, target: str) -> None:
        self.log.info("Spark conf for %s (%s):\n%s", self.job, target, "\n".join(conf.log_lines()))

    def _record(self, context: Any, record: dict[str, Any]) -> dict[str, Any]:
        self.spark_job_run = record
        public = {k: v for k, v in record.items() if k != "dashboard_url"}
        context["ti"].xcom_push(key=XCOM_KEY, value=public)
        return public

    def execute(self, context: Any) -> dict[str, Any]:
        from data_platform.settings import get_settings
        from data_platform.spark.environments import load_spark_environment

        settings = get_settings()
        environment = load_spark_environment(settings)
        spec = get_job(self.job)
        if settings.is_local:
            return self._run_local(context, settings, environment, spec)
        return self._run_emr(context, settings, environment, self._deadline())

    def on_kill(self) -> None:
        if self._local is not None:
            self._local.kill()
        if self._runner is not None and self._runner.current is not None:
            self._runner.cancel(self._runner.current, "the task was killed")

    # --- local target ---------------------------------------------------------------------------
    def _run_local(
        self, context: Any, settings: PlatformSettings, environment: SparkEnvironment, spec: JobSpec
    ) -> dict[str, Any]:
        from data_platform.paths import local_dir
        from data_platform.pod.secret_refs import local_secret_env
        from data_platform.settings import Target
        from data_platform.spark.conf import build_spark_conf
        from data_platform.spark.identity import TaskRunIdentity
        from data_platform.spark.local_logs import LocalRunLogs
        from data_platform.spark.local_runner import LocalSparkSubmit, LocalSparkTimeout

        module = spec.entry_module(self.entry_point)
        if not VersionPin.parse(self.version).matches(spec.version):
            self.log.warning(
                "version=%r does not match the working tree's %s %s (include/spark/jobs.yaml); "
                "the local target runs the working tree.",
                self.version,
                spec.name,
                spec.version,
            )
        conf = build_spark_conf(
            target=Target.LOCAL,
            environment_conf=environment.conf,
            environment=environment.name,
            profiles=spec.profiles,
            overrides=self.conf,
        )
        self._log_conf(conf, f"local, environment {environment.name}")
        ti = context["ti"]
        run_logs = LocalRunLogs(
            name=f"{ti.dag_id}.{ti.task_id}",
            tags={
                **self.tags,
                "spark-job": spec.name,
                "spark-job-version": str(spec.version),
                "environment": environment.name,
                **TaskRunIdentity.from_context(context, self.retries).tags(),
            },
        )
        self._local = runner = LocalSparkSubmit(
            master=environment.local.master if environment.local else "local[2]",
            conf=conf,
            source_root=spec.source_root,
            workdir=local_dir()
            / "spark"
            / "work"
            / f"{ti.dag_id}.{ti.task_id}.{getattr(ti, 'map_index', -1)}",
            module=module,
            args=self.args,
            name=f"{ti.dag_id}.{ti.task_id}",
            log=self.log,
            run_logs=run_logs,
            extra_env=local_secret_env(self.secrets, settings) if self.secrets else None,
        )
        try:
            exit_code = runner.run(self._deadline())
        except LocalSparkTimeout as err:
            raise AirflowTaskTimeout(
                f"Spark job {spec.name} ({module}) hit execution_timeout: {err}"
            ) from err
        finally:
            self._local = None
        record = {
            "target": "local",
            "job": spec.name,
            "version": str(spec.version),
            "module": module,
            "exit_code": exit_code,
            **run_logs.record(),
        }
        if exit_code != 0:
            self._record(context, record)
            tail = "\n".join(runner.tail)
            raise AirflowException(
                f"Spark job {spec.name} ({module}) failed: spark-submit exited with code {exit_code}. "
                f"Last lines:\n{tail}"
            )
        return self._record(context, record)

    # --- aws target -----------------------------------------------------------------------------
    def _emr_runner(
        self, settings: PlatformSettings, environment: SparkEnvironment, context: Any
    ) -> EmrServerlessJobRunner:
        from data_platform.spark.emr_hooks import SparkEmrServerlessHook
        from data_platform.spark.emr_runner import EmrServerlessJobRunner
        from data_platform.spark.identity import TaskRunIdentity

        emr = environment.require_emr()
        hook = SparkEmrServerlessHook(
            aws_conn_id=settings.aws_conn_id, region_name=settings.region, assume_role_arn=emr.assume_role_arn
        )
        identity = TaskRunIdentity.from_context(context, self.retries)
        return EmrServerlessJobRunner(hook, emr, identity, self.poll_interval, self.log)

    def _build_request(
        self,
        context: Any,
        settings: PlatformSettings,
        environment: SparkEnvironment,
        runner: EmrServerlessJobRunner,
        client_token: str,
    ) -> dict[str, Any]:
        from data_platform.settings import Target
        from data_platform.spark.artifacts import open_store, resolve_artifact
        from data_platform.spark.conf import build_spark_conf
        from data_platform.spark.emr_request import build_start_job_run_request, job_tags

        emr = runner.emr
        store = open_store(
            settings.artifacts_root,
            aws_conn_id=settings.aws_conn_id,
            region=settings.region,
            assume_role_arn=emr.assume_role_arn,
        )
        artifact = resolve_artifact(store, self.job, VersionPin.parse(self.version))
        entry_points = artifact.manifest.entry_points
        module = normalize_entry_point(self.entry_point) if self.entry_point else entry_points[0]
        if module not in entry_points:
            raise AirflowException(
                f"Entry point {module!r} is not in {self.job} {artifact.version} (has "
                f"{list(artifact.manifest.entry_points)}); pin a version that has it."
            )
        self.log.info(
            "Resolved %s version=%r to %s (%s)", self.job, self.version, artifact.version, artifact.base_uri
        )
        conf = build_spark_conf(
            target=Target.AWS,
            environment_conf=environment.conf,
            environment=environment.name,
            profiles=artifact.manifest.profiles,
            artifact=artifact.spark_conf(),
            overrides=self.conf,
        )
        if emr.openlineage_parent_job_info and "OpenLineageSparkListener" in conf.values.get(
            "spark.extraListeners", ""
        ):
            from airflow.providers.common.compat.openlineage.utils.spark import (
                inject_parent_job_information_into_spark_properties,
            )

            injected = inject_parent_job_information_into_spark_properties(dict(conf.values), context)
            conf = conf.with_missing("openlineage-parent", injected)
        self._log_conf(
            conf, f"EMR Serverless application {emr.application_id}, environment {environment.name}"
        )
        tags = job_tags(
            environment_tags=emr.tags,
            task_tags=self.tags,
            identity=runner.identity,
            job=self.job,
            version=str(artifact.version),
        )
        return build_start_job_run_request(
            emr=emr,
            identity=runner.identity,
            client_token=client_token,
            entry_point_uri=artifact.launcher_uri,
            module=module,
            args=self.args,
            spark_properties=conf.values,
            tags=tags,
            execution_timeout=self.execution_timeout or DEFAULT_EXECUTION_TIMEOUT,
        )

    def _run_record(
        self,
        settings: PlatformSettings,
        runner: EmrServerlessJobRunner,
        run: dict[str, Any],
        reattached: bool,
    ) -> dict[str, Any]:
        from data_platform.spark.emr_request import TAG_VERSION
        from data_platform.spark.logs import job_log_prefix

        prefix = job_log_prefix(runner.emr.log_uri, run["applicationId"], run["jobRunId"])
        return {
            "target": "aws",
            "job": self.job,
            "version": (run.get("tags") or {}).get(TAG_VERSION),
            "application_id": run["applicationId"],
            "job_run_id": run["jobRunId"],
            "state": run["state"],
            "reattached": reattached,
            "region": settings.region,
            "log_uri": runner.emr.log_uri,
            "driver_log_uri": f"{prefix}/SPARK_DRIVER/",
        }

    def _run_emr(
        self,
        context: Any,
        settings: PlatformSettings,
        environment: SparkEnvironment,
        deadline: datetime,
    ) -> dict[str, Any]:
        from data_platform.spark.emr_runner import TERMINAL_STATES, JobRunDeadlineExceeded, JobRunRef

        self._runner = runner = self._emr_runner(settings, environment, context)
        try:
            run, reattached = runner.start_or_reattach(
                lambda token: self._build_request(context, settings, environment, runner, token), deadline
            )
        except JobRunDeadlineExceeded as err:
            raise AirflowTaskTimeout(f"Spark job {self.job}: {err}") from err
        ref = JobRunRef(run["applicationId"], run["jobRunId"])
        record = self._record(context, self._run_record(settings, runner, run, reattached))
        if run["state"] not in TERMINAL_STATES:
            if self.deferrable:
                self._defer(settings, runner, ref, record, deadline)
            try:
                run = runner.wait(ref, deadline)
            except JobRunDeadlineExceeded as err:
                return self._time_out(context, settings, runner, ref, record, err)
        return self._finish(context, settings, runner, run, record)

    def _defer(
        self,
        settings: PlatformSettings,
        runner: EmrServerlessJobRunner,
        ref: JobRunRef,
        record: dict[str, Any],
        deadline: datetime,
    ) -> None:
        import math

        from data_platform.spark.emr_runner import seconds_until
        from data_platform.spark.emr_trigger import SparkJobRunTrigger

        remaining = max(seconds_until(deadline), 1)
        delay = max(1, int(self.poll_interval))
        self.defer(
            trigger=SparkJobRunTrigger(
                application_id=ref.application_id,
                job_id=ref.job_run_id,
                waiter_delay=delay,
                waiter_max_attempts=max(1, math.ceil(remaining / delay)),
                aws_conn_id=settings.aws_conn_id,
                region_name=settings.region,
                cancel_on_kill=True,
                assume_role_arn=runner.emr.assume_role_arn,
            ),
            method_name="execute_complete",
            kwargs={"record": record, "deadline": deadline.isoformat()},
            timeout=timedelta(seconds=remaining) + DEFER_TIMEOUT_MARGIN,
        )

    def execute_complete(
        self,
        context: Any,
        event: dict[str, Any] | None = None,
        record: dict[str, Any] | None = None,
        deadline: str | None = None,
    ) -> dict[str, Any]:
        """Back from the trigger: the service's state of the run decides, not the event alone.

        A run still going before the deadline (the trigger gave up on an error) is waited for
        again; at the deadline it is cancelled.
        """
        from data_platform.settings import get_settings
        from data_platform.spark.emr_runner import (
            TERMINAL_STATES,
            JobRunDeadlineExceeded,
            JobRunRef,
            seconds_until,
        )
        from data_platform.spark.environments import load_spark_environment

        if not record or not deadline:
            raise AirflowException(f"execute_complete of {self.task_id} needs the deferred run record.")
        settings = get_settings()
        self._runner = runner = self._emr_runner(settings, load_spark_environment(settings), context)
        runner.current = ref = JobRunRef(record["application_id"], record["job_run_id"])
        self.spark_job_run = record
        run = runner.describe(ref)
        if run["state"] not in TERMINAL_STATES:
            message = (event or {}).get("message") or "the trigger stopped waiting"
            if seconds_until(datetime.fromisoformat(deadline)) > self.poll_interval:
                self.log.warning(
                    "Trigger ended (%s) while run %s is %s; waiting again",
                    message,
                    ref.job_run_id,
                    run["state"],
                )
                self._defer(settings, runner, ref, record, datetime.fromisoformat(deadline))
            return self._time_out(context, settings, runner, ref, record, JobRunDeadlineExceeded(message))
        return self._finish(context, settings, runner, run, record)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        """A deferral that timed out resumes as ``__fail__``: cancel the run before failing."""
        if next_method == TRIGGER_FAIL_REPR:
            from data_platform.settings import get_settings
            from data_platform.spark.environments import load_spark_environment

            settings = get_settings()
            runner = self._emr_runner(settings, load_spark_environment(settings), context)
            cancelled = runner.cancel_active_runs("the deferred wait timed out")
            self.log.error(
                "Deferral of %s failed (%s); cancelled job runs: %s",
                self.task_id,
                (next_kwargs or {}).get("error"),
                cancelled or "none",
            )
        return super().resume_execution(next_method, next_kwargs, context)

    def _time_out(
        self,
        context: Any,
        settings: PlatformSettings,
        runner: EmrServerlessJobRunner,
        ref: JobRunRef,
        record: dict[str, Any],
        err: Exception,
    ) -> dict[str, Any]:
        runner.cancel(ref, "execution_timeout reached")
        run = runner.describe(ref)
        self._stream_driver_logs(settings, runner, run)
        self._record(context, {**record, "state": run["state"]})
        raise AirflowTaskTimeout(
            f"Spark job {self.job} run {ref.job_run_id} exceeded execution_timeout "
            f"{self.execution_timeout} ({err}); cancellation requested, state now {run['state']}."
        )

    def _stream_driver_logs(
        self, settings: PlatformSettings, runner: EmrServerlessJobRunner, run: dict[str, Any]
    ) -> None:
        """Copy the tail of the driver's stdout/stderr into the task log (never fails the task)."""
        from botocore.exceptions import BotoCoreError, ClientError

        from data_platform.spark.emr_hooks import SparkS3Hook
        from data_platform.spark.logs import fetch_driver_logs

        try:
            s3 = SparkS3Hook(
                aws_conn_id=settings.aws_conn_id,
                region_name=settings.region,
                assume_role_arn=runner.emr.assume_role_arn,
            ).conn
            logs = fetch_driver_logs(s3, runner.emr.log_uri, run, LOG_TAIL_LINES)
        except (ClientError, BotoCoreError) as err:
            self.log.warning("Could not read the driver logs of job run %s: %s", run["jobRunId"], err)
            return
        if logs is None:
            self.log.info("No driver logs for job run %s under %s (yet)", run["jobRunId"], runner.emr.log_uri)
            return
        for stream, lines in logs.lines.items():
            cut = logs.truncated[stream]
            note = f", first {cut} lines left out" if cut else ""
            self.log.info("---- driver %s (%s/%s.gz%s) ----", stream, logs.prefix, stream, note)
            for line in lines:
                self.log.info("[driver %s] %s", stream, line)
        if self.spark_job_run is not None:
            self.spark_job_run["driver_log_uri"] = f"{logs.prefix}/"

    def _dashboard_url(self, runner: EmrServerlessJobRunner, run: dict[str, Any]) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        if not runner.emr.dashboard_links:
            return None
        try:
            return runner.hook.conn.get_dashboard_for_job_run(
                applicationId=run["applicationId"], jobRunId=run["jobRunId"]
            ).get("url")
        except (ClientError, BotoCoreError) as err:
            self.log.warning("No Spark UI link for job run %s: %s", run["jobRunId"], err)
            return None

    def _finish(
        self,
        context: Any,
        settings: PlatformSettings,
        runner: EmrServerlessJobRunner,
        run: dict[str, Any],
        record: dict[str, Any],
    ) -> dict[str, Any]:
        self._stream_driver_logs(settings, runner, run)
        final = {
            **record,
            "state": run["state"],
            "driver_log_uri": (self.spark_job_run or record)["driver_log_uri"],
        }
        dashboard = self._dashboard_url(runner, run)
        public = self._record(context, {**final, **({"dashboard_url": dashboard} if dashboard else {})})
        if run["state"] != "SUCCESS":
            details = run.get("stateDetails") or "no state details"
            raise AirflowException(
                f"Spark job {self.job} {record.get('version')} run {run['jobRunId']} on application "
                f"{run['applicationId']} ended {run['state']}: {details}. Driver logs: {final['driver_log_uri']}"
            )
        return public
