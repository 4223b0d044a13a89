"""Apache Hudi sink: the lake table format of the CDC pipeline (EMR ships the bundle; the local
target gets the same version from Maven, see include/spark/jvm-packages.yaml).

Writes as the ODP framework does: a full load is a ``bulk_insert`` that overwrites the table;
an increment is ONE ``upsert`` commit of the net change in which deleted keys carry
``_hoodie_is_deleted = true``. Historical tables key each row by ``<primary key>, _cdc_seq`` and
only ever add rows. ``_cdc_seq`` (the change order as sortable text) is the precombine field.

Late changes: the payload is ``DefaultHoodieRecordPayload``, which compares the incoming record's
ordering value (``_cdc_seq``) with the STORED record's and keeps the stored one when the incoming
is older. A change older than the row in the table never overwrites it, and a late delete never
removes a newer re-insert. On equal ordering values the incoming record wins (Hudi's documented
rule for this payload: "the later write wins"). Keys whose partition value changes move (global
index with partition-path update): a key is never in two partitions.

Every commit carries the run id in its metadata (``extraMetadata._cdc_run_id``).

Retention is a step of its own after the commit (``hoodie.clean.automatic`` off, then the
cleaner through Hudi's write client: schedule, execute), as in the snapshot sink: the commit is
the commit point, the clean only removes file slices older than the retained commits. A crash
between a clean's schedule and its end leaves ``.clean.requested``/``.clean.inflight``, which
the next clean executes first (Hudi's rule for pending cleans); a crash inside a commit leaves an
inflight instant that readers ignore and the next write rolls back (``hoodie.cleaner.policy.
failed.writes=EAGER``, Hudi's default for a single writer; the table lock makes it one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from spark_jobs.cdc.faults import armed, fault_point, register_fault_function
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.sinks.snapshot import SinkCommit
from spark_jobs.cdc.table_config import OP_COLUMN, SEQ_COLUMN, TableConfig
from spark_jobs.common.lake import exists, join_uri

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

HUDI_WRITE_OPTIONS_CLASS = "org.apache.hudi.DataSourceWriteOptions"
_COMPLEX_KEYGEN = "org.apache.hudi.keygen.ComplexKeyGenerator"
_NON_PARTITIONED_KEYGEN = "org.apache.hudi.keygen.NonpartitionedKeyGenerator"
_MULTI_PART_EXTRACTOR = "org.apache.hudi.hive.MultiPartKeysValueExtractor"
_NON_PARTITIONED_EXTRACTOR = "org.apache.hudi.hive.NonPartitionedExtractor"
_SINGLE_RESULT_VALIDATOR = "org.apache.hudi.client.validator.SqlQuerySingleResultPreCommitValidator"
_ORDERING_AWARE_PAYLOAD = "org.apache.hudi.common.model.DefaultHoodieRecordPayload"
DELETED_COLUMN = "_hoodie_is_deleted"
RUN_ID_METADATA_KEY = "_cdc_run_id"
"""Commit metadata key of the run id (options starting with ``_``, Hudi's default
``hoodie.datasource.write.commitmeta.key.prefix``, go into the commit's extraMetadata)."""


@dataclass(frozen=True)
class HiveSync:
    """Sync the table to the Glue Data Catalog (EMR: Glue as the Hive metastore)."""

    enabled: bool = False
    mode: str = "hms"


def hudi_write_options(
    config: TableConfig, operation: str, hive_sync: HiveSync | None = None
) -> dict[str, str]:
    """Hudi datasource options for one write of ``config``'s table."""
    historical = config.storage_mode == "historical"
    record_key = [*config.primary_key, *([SEQ_COLUMN] if historical else [])]
    partition_by = list(config.partition_by)
    options = {
        "hoodie.table.name": config.table,
        "hoodie.datasource.write.table.name": config.table,
        "hoodie.datasource.write.table.type": config.table_type,
        "hoodie.datasource.write.operation": operation,
        "hoodie.datasource.write.recordkey.field": ",".join(record_key),
        "hoodie.datasource.write.precombine.field": SEQ_COLUMN,
        "hoodie.datasource.write.payload.class": _ORDERING_AWARE_PAYLOAD,
        "hoodie.payload.ordering.field": SEQ_COLUMN,
        "hoodie.datasource.write.partitionpath.field": ",".join(partition_by),
        "hoodie.datasource.write.hive_style_partitioning": "true",
        "hoodie.datasource.write.keygenerator.class": _COMPLEX_KEYGEN
        if partition_by
        else _NON_PARTITIONED_KEYGEN,
        "hoodie.cleaner.policy": "KEEP_LATEST_COMMITS",
        "hoodie.cleaner.commits.retained": str(config.retention_versions),
        "hoodie.clean.automatic": "false",  # HudiSink.clean runs it after the commit
    }
    if partition_by and not historical:
        # A key whose partition value changes must move, not be duplicated in a second partition.
        options["hoodie.index.type"] = "GLOBAL_BLOOM"
        options["hoodie.bloom.index.update.partition.path"] = "true"
    if hive_sync is not None and hive_sync.enabled:
        options.update(
            {
                "hoodie.datasource.hive_sync.enable": "true",
                "hoodie.datasource.hive_sync.mode": hive_sync.mode,
                "hoodie.datasource.hive_sync.use_jdbc": "false",
                "hoodie.datasource.hive_sync.database": config.database,
                "hoodie.datasource.hive_sync.table": config.table,
                "hoodie.datasource.hive_sync.partition_fields": ",".join(partition_by),
                "hoodie.datasource.hive_sync.partition_extractor_class": (
                    _MULTI_PART_EXTRACTOR if partition_by else _NON_PARTITIONED_EXTRACTOR
                ),
                "hoodie.datasource.hive_sync.support_timestamp": "true",
            }
        )
    return options


class HudiSink:
    """One Hudi table at ``<table root>/hudi``."""

    name = "hudi"

    def __init__(
        self, spark: SparkSession, layout: TableLayout, config: TableConfig, hive_sync: HiveSync | None = None
    ) -> None:
        self.spark = spark
        self.layout = layout
        self.config = config
        self.hive_sync = hive_sync

    @property
    def table_uri(self) -> str:
        return self.layout.hudi_uri

    def exists(self) -> bool:
        return exists(join_uri(self.table_uri, ".hoodie"))

    def read_table(self) -> DataFrame | None:
        if not self.exists():
            return None
        frame = self.spark.read.format("hudi").load(self.table_uri)
        return frame.drop(*[c for c in frame.columns if c.startswith("_hoodie_")])

    def key_rows(self, keys: DataFrame) -> DataFrame | None:
        """The table's rows, a superset of ``keys``' (Hudi finds a key's file group with its own
        index); ``None`` before the first commit."""
        return self.read_table()

    def row_count(self) -> int:
        table = self.read_table()
        return 0 if table is None else table.count()

    def _save(self, frame: DataFrame, operation: str, mode: str, run_id: str) -> None:
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampNTZType

        # Hudi 0.15 has no TIMESTAMP_NTZ (Parquet timestamps without time zone, as DMS writes
        # them): store them as timestamps read in the session time zone (UTC), same wall clock.
        frame = frame.select(
            *[
                F.col(f"`{f.name}`").cast("timestamp").alias(f.name)
                if isinstance(f.dataType, TimestampNTZType)
                else F.col(f"`{f.name}`")
                for f in frame.schema.fields
            ]
        )
        options = hudi_write_options(self.config, operation, self.hive_sync)
        options[RUN_ID_METADATA_KEY] = run_id
        if armed("during_table_commit"):
            # a crash test: the pre-commit validator runs while the instant is inflight with the
            # data files written; its query calls the function that kills the job
            options["hoodie.precommit.validators"] = _SINGLE_RESULT_VALIDATOR
            options["hoodie.precommit.validators.single.value.sql.queries"] = (
                f"select max({register_fault_function(self.spark)}()) from <TABLE_NAME>#1"
            )
        frame.write.format("hudi").options(**options).mode(mode).save(self.table_uri)

    def clean(self) -> None:
        """Hudi's cleaner (``KEEP_LATEST_COMMITS``, ``retention_versions`` commits) run through
        its write client: schedule a clean (``.clean.requested``, only when something is
        cleanable), then execute every pending clean, a crashed earlier one included."""
        jvm = self.spark.sparkContext._jvm  # noqa: SLF001 - py4j gateway to Hudi's write client
        assert jvm is not None
        properties = jvm.org.apache.hudi.common.config.TypedProperties()
        for key, value in hudi_write_options(self.config, "upsert", self.hive_sync).items():
            properties.setProperty(key, value)
        config = (
            jvm.org.apache.hudi.config.HoodieWriteConfig.newBuilder()
            .withPath(self.table_uri)
            .withProps(properties)
            .build()
        )
        context = jvm.org.apache.hudi.client.common.HoodieSparkEngineContext(
            self.spark.sparkContext._jsc  # noqa: SLF001 - the Java context Hudi's client takes
        )
        client = jvm.org.apache.hudi.client.SparkRDDWriteClient(context, config)
        try:
            client.scheduleTableService(
                jvm.org.apache.hudi.common.util.Option.empty(),
                jvm.org.apache.hudi.common.model.TableServiceType.CLEAN,
            )
            fault_point("during_retention")
            client.clean()
        finally:
            client.close()

    def write(self, changes: DataFrame, *, full_load: bool, run_id: str) -> SinkCommit:
        """One Hudi commit of ``changes`` (output-shaped rows with ``_cdc_op`` / ``_cdc_seq``)."""
        from pyspark.sql import functions as F

        fresh = not self.exists()
        if self.config.storage_mode == "historical":
            rows = changes.withColumn(DELETED_COLUMN, F.lit(False))  # a delete is a history row too
            self._save(rows, "bulk_insert" if fresh else "upsert", "overwrite" if fresh else "append", run_id)
        elif full_load or fresh:
            rows = changes.filter(F.col(OP_COLUMN) != "D").withColumn(DELETED_COLUMN, F.lit(False))
            self._save(rows, "bulk_insert", "overwrite", run_id)
        else:
            rows = changes.withColumn(DELETED_COLUMN, F.col(OP_COLUMN) == "D")
            self._save(rows, "upsert", "append", run_id)
        self.clean()
        return SinkCommit(rows_after=self.row_count(), table_uri=self.table_uri)
