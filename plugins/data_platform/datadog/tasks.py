"""The Datadog log shipping's arguments (resolved at run time) and its post-run pod task.

Target-dependent values (the logUri Spark runs write to, the lake, the secret, the environment)
reach the shipping job only through run-time settings (:func:`data_platform.settings.get_settings`
inside a task), never through templates.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from data_platform.pod import PlatformPodOperator
    from data_platform.settings import PlatformSettings
    from data_platform.spark import SparkJobOperator

SECRET = "datadog"
SECRETS_MANAGER_PREFIX = "airflow/connections/"
"""MWAA's Secrets Manager backend's default ``connections_prefix``."""
IMAGE = "datadog-logs-jobs"
"""The pod image built from the ``datadog_logs`` artifact (include/pod/images.yaml)."""
SPARK_JOB_XCOM_KEY = "spark_job"
NOTHING_TO_SHIP_EXIT_CODE = 99
"""``spark_jobs.datadog_logs.pending``'s exit code when every job run's logs are shipped: the
planning pod's ``skip_on_exit_code`` (the sweep is skipped, no Spark job started)."""


def spark_log_uri(settings: PlatformSettings) -> str:
    """The logUri Spark job runs write to: the EMR Serverless application's, or the local one."""
    from data_platform.spark.environments import load_spark_environment
    from data_platform.spark.local_logs import local_log_uri

    if settings.is_local:
        return local_log_uri()
    return load_spark_environment(settings).require_emr().log_uri


def sweep_arguments(run_id: str) -> list[str]:
    """Arguments of ``spark_jobs.datadog_logs.sweep_job`` for the sweep of DAG run ``run_id``.

    On EMR Serverless the job reads the ``datadog`` connection from Secrets Manager
    (``--secret-id``, the name MWAA's backend gives it); locally it gets ``DATADOG_CONN`` from the
    task's ``secrets=["datadog"]``. The API key itself is never an argument.
    """
    from data_platform.settings import get_settings

    settings = get_settings()
    return [
        "--log-uri",
        spark_log_uri(settings),
        "--lake-root",
        settings.lake_root,
        "--secret-id",
        SECRETS_MANAGER_PREFIX + settings.secret_name(SECRET),
        "--env",
        settings.environment,
        "--run-id",
        run_id,
    ]


def ship_run_arguments(spark_job: dict[str, Any] | None) -> list[str]:
    """Arguments of ``spark_jobs.datadog_logs.ship_run`` for a Spark task's run record (its XCom
    ``spark_job``: ``log_uri``, ``application_id``, ``job_run_id``; None when the task failed
    before starting a run, which the shipper reports as nothing to ship)."""
    from data_platform.settings import get_settings

    settings = get_settings()
    return [
        "--spark-job",
        json.dumps(spark_job, sort_keys=True),
        "--lake-root",
        settings.lake_root,
        "--env",
        settings.environment,
    ]


def find_logs_to_ship(arguments: Any, *, task_id: str = "find_logs_to_ship") -> PlatformPodOperator:
    """The sweep's planning pod (``spark_jobs.datadog_logs.pending``, the sweep's ``arguments``):
    skipped when every job run's logs are shipped, so the sweep after it is skipped too and starts
    no Spark job; it succeeds when a run has something to ship. Needs no secret (it reads the log
    location and the checkpoints only)."""
    return _shipping_pod(
        task_id, "spark_jobs.datadog_logs.pending", arguments, skip_on_exit_code=NOTHING_TO_SHIP_EXIT_CODE
    )


def _shipping_pod(task_id: str, module: str, arguments: Any, **kwargs: Any) -> PlatformPodOperator:
    """A small pod of the ``datadog-logs-jobs`` image running ``python3.11 -m module``."""
    from data_platform.pod import PlatformPodOperator

    return PlatformPodOperator(
        task_id=task_id,
        profile="small",
        image=IMAGE,
        cmds=["python3.11", "-m", module],
        arguments=arguments,
        **kwargs,
    )


def ship_spark_job_logs(
    spark_task: SparkJobOperator, *, task_id: str | None = None, **kwargs: Any
) -> PlatformPodOperator:
    """A pod task after ``spark_task`` that ships its job run's logs to Datadog once it ends.

    It runs whatever the Spark task's outcome (a failed run's logs matter most) unless the Spark
    task was skipped (no job run, nothing to ship): a small task (``trigger_rule="none_skipped"``)
    turns the Spark task's XCom ``spark_job`` into the shipper's arguments, then the pod (image ``datadog-logs-jobs``) ships with the API key from the
    ``datadog`` secret. The DAG needs ``team`` / ``pipeline`` in its ``default_args`` (pod
    tasks). For an unmapped Spark task. Returns the pod task.
    """
    from airflow.sdk import TriggerRule, task

    pod_task_id = task_id or f"ship_{spark_task.task_id}_logs"

    @task(task_id=f"{pod_task_id}_arguments", trigger_rule=TriggerRule.NONE_SKIPPED)
    def shipping_arguments(ti: Any = None) -> list[str]:
        return ship_run_arguments(ti.xcom_pull(task_ids=spark_task.task_id, key=SPARK_JOB_XCOM_KEY))

    arguments: Any = shipping_arguments()  # an XComArg: the list of strings when the pod runs
    spark_task >> arguments
    return _shipping_pod(pod_task_id, "spark_jobs.datadog_logs.ship_run", arguments, secrets=[SECRET], **kwargs)
