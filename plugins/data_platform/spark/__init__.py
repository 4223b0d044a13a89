"""Spark jobs on EMR Serverless (aws) and spark-submit (local): operator, artifacts, conf.

DAGs use :class:`SparkJob`; CI uses ``python -m data_platform.spark.artifacts build|deploy``.
"""

from data_platform.spark.operator import SparkJob

__all__ = ["SparkJob"]
