"""Spark job logs to Datadog: the DAG-side pieces (template macros, the post-run shipping task).

The shipping code is the ``datadog_logs`` Spark job (``spark_jobs.datadog_logs``): the sweep
runs it through ``SparkJob``; one run's logs right after the run ends go through the same code
in a pod (:func:`ship_spark_job_logs`).
"""

from data_platform.datadog.tasks import DATADOG_MACROS, ship_spark_job_logs

__all__ = ["DATADOG_MACROS", "ship_spark_job_logs"]
