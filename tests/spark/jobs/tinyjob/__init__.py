"""A tiny PySpark job package for the Spark operator tests (stands in for spark_jobs)."""
