"""Spark job logs to Datadog: every line once, with the job's tags.

Every hour a small planning pod (``find_logs_to_ship``) checks the checkpoints: when every log
file is shipped it is skipped and so is the rest of the run (no Spark job started); otherwise
the ``datadog_logs`` Spark job sweeps the EMR Serverless log location (driver and
executor stdout/stderr of every job run and attempt, gzip) and ships what no shipper has sent
yet to the Datadog logs intake, many runs in parallel; per-file checkpoints in the lake make
reruns and backfills send nothing twice. The sweep's own logs are shipped right after it ends by
the same code in a pod, as any DAG can do for its Spark tasks with ``ship_spark_job_logs``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import airflow.providers.amazon.aws.operators.base_aws  # noqa: F401 - pre-imported (see cdc_pipelines.py)
import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401 - pre-imported (see cdc_pipelines.py)
from airflow.sdk import DAG, task

from data_platform.alerting import ALERT_POLICY_STANDARD
from data_platform.datadog import find_logs_to_ship, ship_spark_job_logs
from data_platform.datadog import sweep_arguments as datadog_sweep_arguments
from data_platform.spark import SparkJobOperator


@task
def sweep_arguments(run_id: str | None = None) -> list[str]:
    """The sweep's arguments on this target: logUri, lake, secret id, environment, run id."""
    if not run_id:
        raise ValueError("sweep_arguments needs the run_id of its DAG run (the task context's run_id).")
    return datadog_sweep_arguments(run_id)


with DAG(
    dag_id="datadog_log_shipping",
    description="Ship the Spark job logs left behind to Datadog (exactly once, with the job's tags)",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["platform", "observability", "datadog"],
    default_args={
        "owner": "data-platform",
        "team": "data-platform",
        "pipeline": "datadog-logs",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
    },
):
    arguments = sweep_arguments()
    sweep = SparkJobOperator(
        task_id="ship_spark_logs",
        job="datadog_logs",
        version="1",
        entry_point="spark_jobs.datadog_logs.sweep_job",
        args=arguments,
        secrets=["datadog"],
        tags={"team": "data-platform"},
        alert_policy=ALERT_POLICY_STANDARD,
        execution_timeout=timedelta(minutes=50),
    )
    find_logs_to_ship(arguments) >> sweep
    ship_spark_job_logs(sweep, task_id="ship_sweep_logs")
