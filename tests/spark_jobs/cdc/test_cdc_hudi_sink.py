"""Hudi sink: datasource options and the write operation per case (captured instead of executed;
test_cdc_hudi_tables.py writes real tables)."""

from __future__ import annotations

import pytest

from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.sinks.hudi import HiveSync, HudiSink, hudi_write_options


def test_current_partitioned_table_options(make_config):
    config = make_config(
        primary_key=["order_id", "line"],
        partition_by=["order_date"],
        table_type="MERGE_ON_READ",
        retention_versions=5,
    )
    options = hudi_write_options(config, "upsert", HiveSync(enabled=True))
    assert options["hoodie.table.name"] == "items"
    assert options["hoodie.datasource.write.table.type"] == "MERGE_ON_READ"
    assert options["hoodie.datasource.write.operation"] == "upsert"
    assert options["hoodie.datasource.write.recordkey.field"] == "order_id,line"
    assert options["hoodie.datasource.write.precombine.field"] == "_cdc_seq"
    assert options["hoodie.payload.ordering.field"] == "_cdc_seq"
    assert (
        options["hoodie.datasource.write.payload.class"]
        == "org.apache.hudi.common.model.DefaultHoodieRecordPayload"
    )
    assert options["hoodie.datasource.write.partitionpath.field"] == "order_date"
    assert options["hoodie.datasource.write.hive_style_partitioning"] == "true"
    assert (
        options["hoodie.datasource.write.keygenerator.class"] == "org.apache.hudi.keygen.ComplexKeyGenerator"
    )
    assert options["hoodie.cleaner.policy"] == "KEEP_LATEST_COMMITS"
    assert options["hoodie.cleaner.commits.retained"] == "5"
    assert options["hoodie.clean.automatic"] == "false"  # HudiSink.clean runs after the commit
    assert options["hoodie.index.type"] == "GLOBAL_BLOOM"
    assert options["hoodie.datasource.hive_sync.enable"] == "true"
    assert options["hoodie.datasource.hive_sync.mode"] == "hms"
    assert options["hoodie.datasource.hive_sync.database"] == "src"
    assert options["hoodie.datasource.hive_sync.table"] == "items"
    assert options["hoodie.datasource.hive_sync.partition_fields"] == "order_date"
    assert (
        options["hoodie.datasource.hive_sync.partition_extractor_class"]
        == "org.apache.hudi.hive.MultiPartKeysValueExtractor"
    )
    assert options["hoodie.datasource.hive_sync.support_timestamp"] == "true"


def test_historical_unpartitioned_table_options(make_config):
    options = hudi_write_options(make_config(storage_mode="historical"), "bulk_insert")
    assert options["hoodie.datasource.write.recordkey.field"] == "id,_cdc_seq"
    assert (
        options["hoodie.datasource.write.keygenerator.class"]
        == "org.apache.hudi.keygen.NonpartitionedKeyGenerator"
    )
    assert options["hoodie.datasource.write.partitionpath.field"] == ""
    assert "hoodie.index.type" not in options
    assert not any(k.startswith("hoodie.datasource.hive_sync") for k in options)


class CapturingHudiSink(HudiSink):
    def __init__(self, *args, table_exists: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.table_exists = table_exists
        self.saved: list[tuple[str, str, list]] = []

    def exists(self) -> bool:
        return self.table_exists

    def row_count(self) -> int:
        return 0

    def _save(self, frame, operation, mode, run_id):
        rows = frame.collect()
        self.saved.append((operation, mode, sorted((r["_cdc_op"], r["_hoodie_is_deleted"]) for r in rows)))

    def clean(self) -> None:
        self.saved.append(("clean", "", []))


@pytest.mark.spark
@pytest.mark.parametrize(
    ("mode", "full_load", "exists", "expected"),
    [
        ("current", True, True, [("bulk_insert", "overwrite", [("I", False), ("U", False)])]),
        ("current", False, False, [("bulk_insert", "overwrite", [("I", False), ("U", False)])]),
        # one commit: deleted keys are upserted with _hoodie_is_deleted (ordering-aware)
        ("current", False, True, [("upsert", "append", [("D", True), ("I", False), ("U", False)])]),
        ("historical", False, True, [("upsert", "append", [("D", False), ("I", False), ("U", False)])]),
        (
            "historical",
            True,
            False,
            [("bulk_insert", "overwrite", [("D", False), ("I", False), ("U", False)])],
        ),
    ],
)
def test_write_operations(spark, lake, make_config, mode, full_load, exists, expected):
    changes = spark.createDataFrame(
        [(1, "I", "s1"), (2, "U", "s2"), (3, "D", "s3")], "id long, _cdc_op string, _cdc_seq string"
    )
    sink = CapturingHudiSink(
        spark, TableLayout(lake, "src", "items"), make_config(storage_mode=mode), table_exists=exists
    )
    commit = sink.write(changes, full_load=full_load, run_id="r1")
    assert sink.saved == [*expected, ("clean", "", [])]  # retention after every commit
    assert commit.table_uri.endswith("/cdc/src/items/hudi")
