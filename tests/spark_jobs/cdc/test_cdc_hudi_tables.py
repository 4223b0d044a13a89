"""Real Hudi tables (the pinned bundle from Maven on the shared local session): the CDC merge's
Hudi semantics, read back with hudi-rs (``read_current``, no JVM) and with Spark."""

from __future__ import annotations

from pathlib import Path

import pytest

from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.merge import MergeSettings, merge_table
from spark_jobs.cdc.outputs import hudi_commits, read_current
from spark_jobs.cdc.sinks import HudiSink, select_sink

pytestmark = pytest.mark.spark

LOAD_HEADER = ["ts", "id", "qty", "part"]
CDC_HEADER = ["Op", "ts", "id", "qty", "part"]
OUTPUT_SCHEMA = "id long, qty int, part string, _cdc_op string, _cdc_seq string"


def ts(minute: int) -> str:
    return f"2024-01-01 00:{minute:02d}:00.000000"


def lake_rows(lake: str, table: str = "items") -> list[tuple]:
    """(id, qty, part) of the table's latest snapshot, read with hudi-rs."""
    return sorted((r["id"], r["qty"], r["part"]) for r in read_current(lake, "src", table).to_pylist())


def spark_rows(sink: HudiSink) -> list[tuple]:
    table = sink.read_table()
    assert table is not None
    return sorted((r["id"], r["qty"], r["part"]) for r in table.select("id", "qty", "part").collect())


def partition_files(lake: str, table: str) -> dict[str, list[str]]:
    root = Path(TableLayout(lake, "src", table).hudi_uri.removeprefix("file://"))
    return {
        p.name: sorted(f.name for f in p.iterdir() if not f.name.startswith(".hoodie"))
        for p in root.iterdir()
        if p.is_dir() and p.name.startswith("part=")
    }


def test_cdc_merge_into_a_copy_on_write_table(spark, dms, landing, lake, make_config):
    config = make_config(
        partition_by=["part"],
        ordering_columns=["ts"],
        columns=[{"name": "id", "type": "bigint"}, {"name": "qty", "type": "int"}],
    )
    dms.csv("LOAD00000001.csv", LOAD_HEADER, [[ts(0), k, k, "a"] for k in (1, 2, 3, 4)])
    first = merge_table(spark, config, MergeSettings(landing, lake, run_id="r1"))
    assert (first.status, first.sink, first.full_load, first.inserted) == ("ok", "hudi", True, 4), first.error
    assert lake_rows(lake) == [(1, 1, "a"), (2, 2, "a"), (3, 3, "a"), (4, 4, "a")]

    # Two files, out of order by name: key 1 changes in both, key 2 is deleted, key 3 is deleted
    # and re-inserted in the batch, key 4 moves to partition b, key 5 is new.
    dms.csv(
        "20240101-002000000.csv",
        CDC_HEADER,
        [["U", ts(11), 1, 11, "a"], ["D", ts(12), 3, 3, "a"], ["I", ts(14), 3, 33, "a"]],
    )
    dms.csv(
        "20240101-001000000.csv",
        CDC_HEADER,
        [
            ["U", ts(15), 1, 12, "a"],
            ["D", ts(13), 2, 2, "a"],
            ["U", ts(16), 4, 44, "b"],
            ["I", ts(17), 5, 5, "b"],
        ],
    )
    second = merge_table(spark, config, MergeSettings(landing, lake, run_id="r2"))
    assert (second.status, second.inserted, second.updated, second.deleted) == ("ok", 1, 3, 1), second.error
    expected = [(1, 12, "a"), (3, 33, "a"), (4, 44, "b"), (5, 5, "b")]
    assert lake_rows(lake) == expected
    sink = select_sink(spark, TableLayout(lake, "src", "items"), config)
    assert isinstance(sink, HudiSink) and spark_rows(sink) == expected
    assert second.rows_after == 4  # key 4 moved: one row, never one per partition
    commits = hudi_commits(lake, "src", "items")
    assert [(c["action"], c["run_id"]) for c in commits] == [("commit", "r1"), ("commit", "r2")]

    # Rerunning a committed run id changes nothing: its result is reused, no new commit.
    again = merge_table(spark, config, MergeSettings(landing, lake, run_id="r2"))
    assert again.reused and hudi_commits(lake, "src", "items") == commits

    # Late changes: ordering values older than the stored rows' never overwrite them; a late
    # delete (minute 13) of key 3, re-inserted at minute 14, does not remove it.
    dms.csv(
        "20240101-003000000.csv",
        CDC_HEADER,
        [["U", ts(5), 1, 999, "a"], ["D", ts(13), 3, 3, "a"], ["U", ts(20), 5, 55, "b"]],
    )
    late = merge_table(spark, config, MergeSettings(landing, lake, run_id="r3"))
    assert late.status == "ok", late.error
    assert lake_rows(lake) == [(1, 12, "a"), (3, 33, "a"), (4, 44, "b"), (5, 55, "b")]
    assert [c["run_id"] for c in hudi_commits(lake, "src", "items")] == ["r1", "r2", "r3"]


def test_merge_on_read_latest_view_and_partition_moves(spark, lake, make_config):
    config = make_config(table_type="MERGE_ON_READ", partition_by=["part"], source_table="mor")
    sink = HudiSink(spark, TableLayout(lake, "src", "mor"), config)
    load = [(1, 1, "a", "I", "1"), (2, 2, "a", "I", "1"), (3, 3, "b", "I", "1")]
    sink.write(spark.createDataFrame(load, OUTPUT_SCHEMA), full_load=True, run_id="m1")
    changes = [(1, 10, "a", "U", "2"), (2, 2, "a", "D", "2"), (3, 30, "a", "U", "2"), (4, 4, "b", "I", "2")]
    commit = sink.write(spark.createDataFrame(changes, OUTPUT_SCHEMA), full_load=False, run_id="m2")

    expected = [(1, 10, "a"), (3, 30, "a"), (4, 4, "b")]
    assert commit.rows_after == 3
    assert spark_rows(sink) == expected  # Spark's snapshot query merges base and log files
    assert lake_rows(lake, "mor") == expected  # so does hudi-rs
    assert [(c["action"], c["run_id"]) for c in hudi_commits(lake, "src", "mor")] == [
        ("deltacommit", "m1"),
        ("deltacommit", "m2"),
    ]
    assert any(".log." in name for files in partition_files(lake, "mor").values() for name in files)


def test_historical_table_keeps_every_change_once(spark, lake, make_config):
    config = make_config(storage_mode="historical", source_table="hist")
    sink = HudiSink(spark, TableLayout(lake, "src", "hist"), config)
    schema = "id long, qty int, _cdc_op string, _cdc_seq string"
    sink.write(
        spark.createDataFrame([(1, 1, "I", "1"), (2, 2, "I", "1")], schema), full_load=True, run_id="h1"
    )
    changes = spark.createDataFrame([(1, 5, "U", "2"), (1, 6, "U", "3"), (2, 2, "D", "4")], schema)
    sink.write(changes, full_load=False, run_id="h2")
    sink.write(changes, full_load=False, run_id="h2")  # a retried write adds nothing
    rows = sorted(
        (r["id"], r["qty"], r["_cdc_op"], r["_cdc_seq"])
        for r in read_current(lake, "src", "hist").to_pylist()
    )
    assert rows == [(1, 1, "I", "1"), (1, 5, "U", "2"), (1, 6, "U", "3"), (2, 2, "D", "4"), (2, 2, "I", "1")]


def test_precombine_ties_and_cleaner_retention(spark, lake, make_config):
    config = make_config(source_table="ties", retention_versions=1, partition_by=["part"])
    sink = HudiSink(spark, TableLayout(lake, "src", "ties"), config)
    sink.write(spark.createDataFrame([(1, 1, "a", "I", "5")], OUTPUT_SCHEMA), full_load=True, run_id="t1")
    # Equal ordering value: DefaultHoodieRecordPayload lets the incoming record win.
    sink.write(spark.createDataFrame([(1, 2, "a", "U", "5")], OUTPUT_SCHEMA), full_load=False, run_id="t2")
    assert lake_rows(lake, "ties") == [(1, 2, "a")]
    # An older ordering value loses against the stored row.
    sink.write(spark.createDataFrame([(1, 3, "a", "U", "4")], OUTPUT_SCHEMA), full_load=False, run_id="t3")
    assert lake_rows(lake, "ties") == [(1, 2, "a")]
    sink.write(spark.createDataFrame([(1, 4, "a", "U", "6")], OUTPUT_SCHEMA), full_load=False, run_id="t4")
    assert lake_rows(lake, "ties") == [(1, 4, "a")]

    # KEEP_LATEST_COMMITS with 1 retained commit: the cleaner ran and removed old file versions.
    timeline = Path(sink.table_uri.removeprefix("file://")) / ".hoodie"
    assert list(timeline.glob("*.clean"))
    base_files = [f for f in partition_files(lake, "ties")["part=a"] if f.endswith(".parquet")]
    assert len(base_files) < len(hudi_commits(lake, "src", "ties")) == 4
