"""PySpark jobs, one package per pipeline, plus the shared ``common`` package.

Jobs run on EMR Serverless (``aws`` target) or under local ``spark-submit`` (``local`` target)
with the same code and arguments. They never import Airflow or ``data_platform``.
"""
