"""SparkSession construction.

Under spark-submit / EMR Serverless the configuration comes from the submit (``--conf``,
``spark-defaults``); :func:`build_spark_session` only adds defaults the jobs rely on when the
submit did not set them. Tests build one local session with :func:`local_conf`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Defaults the jobs rely on; a value passed by spark-submit wins.
JOB_DEFAULTS: Mapping[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionOverwriteMode": "static",
}


def local_conf(shuffle_partitions: int = 4, driver_memory: str = "1g", cores: int = 2) -> dict[str, str]:
    """Configuration for a small local session (tests, benchmarks, local runs without submit)."""
    return {
        "spark.master": f"local[{cores}]",
        "spark.driver.memory": driver_memory,
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.default.parallelism": str(cores),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "true",
    }


def build_spark_session(app_name: str, conf: Mapping[str, str] | None = None) -> SparkSession:
    """The job's SparkSession: submit configuration + ``conf`` + :data:`JOB_DEFAULTS`.

    ``conf`` entries override the defaults; anything spark-submit set already stays (the
    builder only sets keys, and ``getOrCreate`` keeps the submitted SparkConf for the rest).
    """
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    submitted = SparkConf()
    builder = SparkSession.builder.appName(app_name)
    for key, value in JOB_DEFAULTS.items():
        if not submitted.contains(key):
            builder = builder.config(key, value)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    if not submitted.contains("spark.master") and "spark.master" not in (conf or {}):
        builder = builder.master("local[*]")
    return builder.getOrCreate()


def jvm_class_available(spark: SparkSession, class_name: str) -> bool:
    """Whether ``class_name`` can be loaded by the driver JVM (e.g. a Hudi bundle on the classpath)."""
    jvm: Any = spark.sparkContext._jvm  # noqa: SLF001 - py4j gateway, the only way to ask the JVM
    try:
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        jvm.java.lang.Class.forName(class_name, False, loader)
    except Exception:  # noqa: BLE001 - py4j wraps ClassNotFoundException in Py4JJavaError
        return False
    return True
