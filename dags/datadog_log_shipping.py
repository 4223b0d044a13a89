"""Spark job logs to Datadog: every line once, with the job's tags.

Every hour the ``datadog_logs`` Spark job sweeps the EMR Serverless log location (driver and
executor stdout/stderr of every job run and attempt, gzip) and ships what no shipper has sent
yet to the Datadog logs intake, many runs in parallel; per-file checkpoints in the lake make
reruns and backfills send nothing twice. The sweep's own logs are shipped right after it ends by
the same code in a pod, as any DAG can do for its Spark tasks with ``ship_spark_job_logs``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from data_platform.alerting import ALERT_POLICY_STANDARD
from data_platform.datadog import DATADOG_MACROS, ship_spark_job_logs
from data_platform.macros import PLATFORM_MACROS
from data_platform.spark import SparkJob

with DAG(
    dag_id="datadog_log_shipping",
    description="Ship the Spark job logs left behind to Datadog (exactly once, with the job's tags)",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["platform", "observability", "datadog"],
    user_defined_macros={**PLATFORM_MACROS, **DATADOG_MACROS},
    default_args={
        "owner": "data-platform",
        "team": "data-platform",
        "pipeline": "datadog-logs",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
    },
):
    sweep = SparkJob(
        task_id="ship_spark_logs",
        job="datadog_logs",
        version="1",
        entry_point="spark_jobs.datadog_logs.sweep_job",
        args=[
            "--log-uri",
            "{{ datadog.spark_log_uri }}",
            "--lake-root",
            "{{ platform.lake_root }}",
            "--secret-id",
            "{{ datadog.secret_id }}",
            "--env",
            "{{ datadog.env }}",
            "--run-id",
            "{{ run_id }}",
        ],  # fmt: skip
        secrets=["datadog"],
        tags={"team": "data-platform"},
        alert_policy=ALERT_POLICY_STANDARD,
        execution_timeout=timedelta(minutes=50),
    )
    ship_spark_job_logs(sweep, task_id="ship_sweep_logs")
