"""Table sinks: Apache Hudi when the bundle is on the classpath (EMR, and the local target after
``make install``), else Parquet snapshots (the explicit fallback: ``--sink snapshot``).

Both give the same table semantics: ``current`` = latest row per key with deletes applied,
``historical`` = every change appended with ``_cdc_op`` and ``_cdc_seq``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.sinks.hudi import HUDI_WRITE_OPTIONS_CLASS, HiveSync, HudiSink
from spark_jobs.cdc.sinks.snapshot import ROWS_PER_FILE, SinkCommit, SnapshotSink
from spark_jobs.cdc.table_config import TableConfig
from spark_jobs.common.lake import exists, join_uri
from spark_jobs.common.session import jvm_class_available

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SinkChoice = Literal["auto", "hudi", "snapshot"]
TableSink = HudiSink | SnapshotSink

__all__ = [
    "HiveSync",
    "HudiSink",
    "SinkChoice",
    "SinkCommit",
    "SnapshotSink",
    "TableSink",
    "hudi_available",
    "select_sink",
]


def hudi_available(spark: SparkSession) -> bool:
    """Whether the Hudi Spark datasource can be loaded by this session."""
    return jvm_class_available(spark, HUDI_WRITE_OPTIONS_CLASS)


def select_sink(
    spark: SparkSession,
    layout: TableLayout,
    config: TableConfig,
    requested: SinkChoice = "auto",
    hive_sync: HiveSync | None = None,
    rows_per_file: int = ROWS_PER_FILE,
) -> TableSink:
    """The sink for a table. A table keeps the sink it was created with: switching would start
    an empty table while the tracker already counts the old files as processed."""
    has_snapshot = exists(layout.pointer_uri)
    has_hudi = exists(join_uri(layout.hudi_uri, ".hoodie"))
    if has_snapshot and requested == "hudi":
        raise ValueError(
            f"{layout.table_id} is stored as Parquet snapshots at {layout.table_root}; it cannot switch to Hudi"
        )
    if has_hudi and requested == "snapshot":
        raise ValueError(
            f"{layout.table_id} is a Hudi table at {layout.hudi_uri}; it cannot switch to snapshots"
        )
    use_hudi = (
        has_hudi
        or requested == "hudi"
        or (requested == "auto" and not has_snapshot and hudi_available(spark))
    )
    if use_hudi:
        if not hudi_available(spark):
            raise RuntimeError(
                f"{layout.table_id} needs Hudi but no Hudi Spark bundle is on the classpath "
                "(EMR: spark.jars=/usr/lib/hudi/hudi-spark-bundle.jar via the job's `hudi` profile; "
                "local target: `make install` fetches the pinned bundle of include/spark/jvm-packages.yaml)"
            )
        return HudiSink(spark, layout, config, hive_sync)
    return SnapshotSink(spark, layout, config, rows_per_file=rows_per_file)
