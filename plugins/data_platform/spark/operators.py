"""``SparkJobOperator``: run a versioned Spark job on EMR Serverless (aws) or spark-submit (local).

One DAG line per job, the same on both targets (chosen at run time by PIPELINE_TARGET)::

    SparkJobOperator(task_id="merge_batch", job="cdc_merge", version="1.2",
             entry_point="spark_jobs.cdc.merge_job", args=["--run-id", "{{ run_id }}"],
             conf={"spark.executor.memory": "8g"}, alert_policy=ALERT_POLICY_CRITICAL)

The operator holds the task's parameters; a target runs the job: :class:`EmrServerlessTarget`
(aws) or :class:`LocalSparkTarget` (local), both behind :class:`SparkTarget`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from airflow.providers.amazon.aws.links.emr import EmrServerlessDashboardLink, EmrServerlessS3LogsLink
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk import XComArg
from airflow.sdk import conf as airflow_conf
from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR
from airflow.sdk.exceptions import AirflowException

from data_platform.alerting import AlertPolicy
from data_platform.spark.hooks import SparkEmrServerlessHook
from data_platform.spark.jobs import get_job
from data_platform.spark.versions import VersionPin

if TYPE_CHECKING:
    from data_platform.settings import PlatformSettings, Target
    from data_platform.spark.conf import SparkConf
    from data_platform.spark.emr_target import EmrServerlessTarget
    from data_platform.spark.environments import SparkEnvironment

DEFAULT_EXECUTION_TIMEOUT = timedelta(hours=6)
CLEANUP_GRACE = timedelta(minutes=1)
XCOM_KEY = "spark_job"
_TEMPLATED = re.compile(r"{{|{%")


class SparkTarget(Protocol):
    """Where a Spark job runs: ``run`` returns the run record (or defers); ``kill`` stops it."""

    def run(self, context: Any) -> dict[str, Any]: ...

    def kill(self) -> None: ...


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


class SparkJobOperator(AwsBaseOperator[SparkEmrServerlessHook]):
    """Run ``entry_point`` of Spark job ``job`` at artifact version ``version``.

    :param job: job name in include/spark/jobs.yaml.
    :param version: pin of the deployed artifact: ``"1"``, ``"1.2"`` or ``"1.2.3"`` (aws); the
        local target runs the working tree and only warns when the pin does not match it.
    :param entry_point: module (``spark_jobs.cdc.merge``) or file (``spark_jobs/cdc/merge.py``)
        declared for the job; default: the job's first entry point.
    :param args: arguments of the job (templated; an upstream task's output (XComArg) resolved
        when the task runs; mappable with ``.expand(args=...)``).
    :param conf: Spark conf overrides, the last layer (templated).
    :param tags: job run tags such as ``{"team": "...", "owner": "..."}`` (templated).
    :param secrets: logical secret names the job reads (``["datadog"]``). Local target: passed to
        spark-submit as ``<NAME>_CONN`` (the Airflow connection as JSON, masked), as for pod
        tasks; aws: nothing is passed, the job reads Secrets Manager with its execution role.
    :param alert_policy: e.g. ``ALERT_POLICY_CRITICAL``: its failure/retry notifiers become the
        task's callbacks (add the DAG-level deadline with ``policy.deadline_alert(...)``).
    :param poll_interval: seconds between status checks of the EMR Serverless job run.
    :param deferrable: wait on the triggerer instead of a worker slot (aws target); default:
        ``[operators] default_deferrable``.
    :param aws_conn_id: AWS connection of the aws target (a ``role_arn`` extra assumes a role);
        default: ``aws_conn_id`` of the environment's ``emr:`` block, else of the platform settings.
    :param region_name: default: the platform settings' region. ``verify``, ``botocore_config``:
        as for every Amazon provider operator.
    :param execution_timeout: the task's limit (default 6 h), enforced in every mode, also set as
        the job run's own ``executionTimeoutMinutes``; the run is cancelled when it is reached.
    """

    aws_hook_class = SparkEmrServerlessHook
    template_fields: Sequence[str] = aws_template_fields("args", "conf", "version", "entry_point", "tags")
    template_fields_renderers: ClassVar[dict[str, str]] = {"conf": "json", "tags": "json"}
    operator_extra_links = (EmrServerlessS3LogsLink(), EmrServerlessDashboardLink())
    ui_color = "#fbe3c9"

    def __init__(
        self,
        *,
        job: str,
        version: str,
        entry_point: str | None = None,
        args: Sequence[str] | XComArg | None = None,
        conf: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        alert_policy: AlertPolicy | None = None,
        poll_interval: float = 30,
        deferrable: bool = airflow_conf.getboolean("operators", "default_deferrable", fallback=False),
        execution_timeout: timedelta | None = None,
        aws_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs = _with_alert_policy(alert_policy, kwargs)
        super().__init__(
            aws_conn_id=aws_conn_id,
            execution_timeout=execution_timeout or DEFAULT_EXECUTION_TIMEOUT,
            **kwargs,
        )
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
        self.args: list[str] | XComArg = args if isinstance(args, XComArg) else list(args or [])
        self.conf = dict(conf or {})
        self.tags = dict(tags or {})
        self.secrets = (secrets,) if isinstance(secrets, str) else tuple(secrets)
        self.alert_policy = alert_policy
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self.spark_job_run: dict[str, Any] | None = None
        self._target: SparkTarget | None = None

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:
        """``BaseOperator.partial``, with the alert policy turned into callbacks the mapped task declares."""
        if "job" in kwargs:
            get_job(kwargs["job"])
        return super().partial(**_with_alert_policy(kwargs.pop("alert_policy", None), kwargs))

    # --- for the targets ------------------------------------------------------------------------
    def timeout(self) -> timedelta:
        return self.execution_timeout or DEFAULT_EXECUTION_TIMEOUT

    def deadline(self) -> datetime:
        """When this try gives up: a little before Airflow's own execution_timeout fires, so the
        run is cancelled and its logs are copied before the task is interrupted."""
        timeout = self.timeout()
        return datetime.now(UTC) + timeout - min(CLEANUP_GRACE, timeout * 0.05)

    def spark_conf(
        self,
        target: Target,
        environment: SparkEnvironment,
        profiles: Sequence[str],
        where: str,
        artifact: Mapping[str, str] | None = None,
    ) -> SparkConf:
        """The merged conf of this run on ``environment``'s target (see ``spark.conf``), logged
        with each key's source."""
        from data_platform.spark.conf import build_spark_conf

        conf = build_spark_conf(
            target=target,
            environment_conf=environment.conf,
            environment=environment.name,
            profiles=profiles,
            artifact=artifact,
            overrides=self.conf,
        )
        self.log.info("Spark conf for %s (%s):\n%s", self.job, where, "\n".join(conf.log_lines()))
        return conf

    def job_arguments(self) -> list[str]:
        """The job's arguments as rendered for this run (an upstream task's output resolved)."""
        if isinstance(self.args, XComArg):
            raise AirflowException(f"{self.task_id}: args are read before the task's fields are rendered.")
        return list(self.args)

    def record(self, context: Any, record: dict[str, Any]) -> dict[str, Any]:
        """Keep the run record and push it to XCom (key ``spark_job``)."""
        self.spark_job_run = record
        context["ti"].xcom_push(key=XCOM_KEY, value=record)
        return record

    # --- execution ------------------------------------------------------------------------------
    def execute(self, context: Any) -> dict[str, Any]:
        from data_platform.settings import get_settings
        from data_platform.spark.environments import load_spark_environment
        from data_platform.spark.local_target import LocalSparkTarget

        settings = get_settings()
        environment = load_spark_environment(settings)
        if settings.is_local:
            self._target = LocalSparkTarget(self, environment, get_job(self.job))
        else:
            self._target = self._emr_target(settings, environment, context)
        return self._target.run(context)

    def on_kill(self) -> None:
        if self._target is not None:
            self._target.kill()

    def _emr_target(
        self, settings: PlatformSettings, environment: SparkEnvironment, context: Any
    ) -> EmrServerlessTarget:
        """The aws target, with the task's connection resolved (before the hook is first used)."""
        from data_platform.spark.emr_target import EmrServerlessTarget

        if self.aws_conn_id is None:
            self.aws_conn_id = environment.require_emr().aws_conn_id or settings.aws_conn_id
        if self.region_name is None:
            self.region_name = settings.region
        return EmrServerlessTarget(self, settings, environment, context)

    def _emr_target_now(self, context: Any) -> EmrServerlessTarget:
        from data_platform.settings import get_settings
        from data_platform.spark.environments import load_spark_environment

        settings = get_settings()
        return self._emr_target(settings, load_spark_environment(settings), context)

    def execute_complete(
        self,
        context: Any,
        event: dict[str, Any] | None = None,
        record: dict[str, Any] | None = None,
        deadline: str | None = None,
    ) -> dict[str, Any]:
        """Back from the trigger (see :meth:`EmrServerlessTarget.resume`)."""
        if not record or not deadline:
            raise AirflowException(f"execute_complete of {self.task_id} needs the deferred run record.")
        return self._emr_target_now(context).resume(context, event, record, deadline)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        """A deferral that timed out resumes as ``__fail__``: cancel the run before failing."""
        if next_method == TRIGGER_FAIL_REPR:
            cancelled = self._emr_target_now(context).cancel_active_runs("the deferred wait timed out")
            self.log.error(
                "Deferral of %s failed (%s); cancelled job runs: %s",
                self.task_id,
                (next_kwargs or {}).get("error"),
                cancelled or "none",
            )
        return super().resume_execution(next_method, next_kwargs, context)
