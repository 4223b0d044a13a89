"""Spark jobs on EMR Serverless (aws) and spark-submit (local): operator, artifacts, conf.

DAGs use :class:`SparkJobOperator`; CI uses ``python -m data_platform.spark.artifacts build|deploy``.
"""

from data_platform.spark.operators import SparkJobOperator

__all__ = ["SparkJobOperator"]
