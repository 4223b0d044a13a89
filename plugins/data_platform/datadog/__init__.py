"""Spark job logs to Datadog: the DAG-side pieces (run-time arguments, the post-run shipping task).

The shipping code is the ``datadog_logs`` Spark job (``spark_jobs.datadog_logs``): the sweep
runs it through ``SparkJobOperator``; one run's logs right after the run ends go through the same
code in a pod (:func:`ship_spark_job_logs`).
"""

from data_platform.datadog.tasks import (
    find_logs_to_ship,
    ship_run_arguments,
    ship_spark_job_logs,
    sweep_arguments,
)

__all__ = ["find_logs_to_ship", "ship_run_arguments", "ship_spark_job_logs", "sweep_arguments"]
