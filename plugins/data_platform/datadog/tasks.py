"""Template macros and the post-run task of the Datadog log shipping (resolved at run time)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from data_platform.pod import PodTask
    from data_platform.spark import SparkJob

SECRET = "datadog"
SECRETS_MANAGER_PREFIX = "airflow/connections/"
"""MWAA's Secrets Manager backend's default ``connections_prefix``."""


class _DatadogMacro:
    """``{{ datadog.spark_log_uri }}``, ``{{ datadog.secret_id }}``, ``{{ datadog.env }}`` in templates."""

    @property
    def spark_log_uri(self) -> str:
        """The logUri Spark job runs write to: the EMR Serverless application's, or the local one."""
        from data_platform.settings import get_settings
        from data_platform.spark.environments import load_spark_environment
        from data_platform.spark.local_logs import local_log_uri

        settings = get_settings()
        if settings.is_local:
            return local_log_uri()
        return load_spark_environment(settings).require_emr().log_uri

    @property
    def secret_id(self) -> str:
        """The Secrets Manager secret of the ``datadog`` connection (what jobs on EMR read)."""
        from data_platform.settings import get_settings

        return SECRETS_MANAGER_PREFIX + get_settings().secret_name(SECRET)

    @property
    def env(self) -> str:
        from data_platform.settings import get_settings

        return get_settings().environment

    def __repr__(self) -> str:  # shown in rendered-template views, never a secret
        return "<datadog settings, resolved at run time>"


DATADOG_MACROS: dict[str, Any] = {"datadog": _DatadogMacro()}


def ship_spark_job_logs(spark_task: SparkJob, *, task_id: str | None = None, **kwargs: Any) -> PodTask:
    """A pod task after ``spark_task`` that ships its job run's logs to Datadog once it ends.

    It runs whatever the Spark task's outcome (``trigger_rule="all_done"``: a failed run's logs
    matter most), reads the run from the Spark task's XCom ``spark_job`` and the API key from the
    ``datadog`` secret. The DAG needs ``user_defined_macros={**PLATFORM_MACROS, **DATADOG_MACROS}``
    and ``team`` / ``pipeline`` in its ``default_args`` (pod tasks). For an unmapped Spark task.
    """
    from data_platform.pod import PodTask

    record = "{{ ti.xcom_pull(task_ids='" + spark_task.task_id + "', key='spark_job') | tojson }}"
    kwargs.setdefault("trigger_rule", "all_done")
    task = PodTask(
        task_id=task_id or f"ship_{spark_task.task_id}_logs",
        profile="small",
        image="platform-tools",
        cmds=["python", "-m", "spark_jobs.datadog_logs.ship_run"],
        arguments=[
            "--spark-job",
            record,
            "--lake-root",
            "{{ platform.lake_root }}",
            "--env",
            "{{ datadog.env }}",
        ],
        secrets=[SECRET],
        **kwargs,
    )
    spark_task >> task
    return task
