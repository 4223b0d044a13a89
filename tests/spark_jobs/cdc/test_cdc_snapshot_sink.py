"""Snapshot sink: versions, atomic pointer, retention; pyarrow readers of the current version."""

from __future__ import annotations

import json

import pytest

from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.outputs import current_files, current_pointer, read_current
from spark_jobs.cdc.sinks import select_sink
from spark_jobs.cdc.sinks.snapshot import SnapshotSink, existing_versions

pytestmark = pytest.mark.spark

SCHEMA = "id long, part string, qty int, _cdc_op string, _cdc_seq string"


def frame(spark, rows):
    return spark.createDataFrame(rows, SCHEMA)


def test_versions_pointer_and_retention(spark, lake, make_config):
    config = make_config(partition_by=["part"], retention_versions=2)
    layout = TableLayout(lake, "src", "items")
    sink = SnapshotSink(spark, layout, config)
    assert not sink.exists() and sink.read_table() is None
    first = sink.write(
        frame(spark, [(1, "a", 1, "I", "1"), (2, "b", 2, "I", "1")]), full_load=True, run_id="r1"
    )
    assert (first.version, first.rows_after) == (1, 2)
    second = sink.write(
        frame(spark, [(1, "b", 10, "U", "2"), (2, "b", 2, "D", "2"), (3, None, 3, "I", "2")]),
        full_load=False,
        run_id="r2",
    )
    assert (second.version, second.rows_after) == (2, 2)
    third = sink.write(frame(spark, [(4, "c", 4, "I", "3")]), full_load=False, run_id="r3")
    assert existing_versions(layout) == [2, 3]  # retention 2: version 1 deleted after the pointer moved
    pointer = current_pointer(lake, "src", "items")
    assert (pointer["version"], pointer["path"], pointer["run_id"], pointer["row_count"]) == (
        3,
        "versions/v=3",
        "r3",
        third.rows_after,
    )
    rows = read_current(lake, "src", "items").to_pylist()
    assert sorted((r["id"], r["part"], r["qty"]) for r in rows) == [(1, "b", 10), (3, None, 3), (4, "c", 4)]
    assert [c["name"] for c in pointer["columns"]] == ["id", "part", "qty", "_cdc_op", "_cdc_seq"]
    assert all("/versions/v=3/part=" in f for f in current_files(lake, "src", "items"))
    reread = SnapshotSink(spark, layout, config).read_table()
    assert reread.columns == ["id", "part", "qty", "_cdc_op", "_cdc_seq"] and reread.count() == 3


def test_a_failed_write_leaves_the_pointer_on_the_previous_version(spark, lake, make_config):
    from pyspark.sql import functions as F

    config = make_config()
    layout = TableLayout(lake, "src", "items")
    sink = SnapshotSink(spark, layout, config)
    sink.write(frame(spark, [(1, "a", 1, "I", "1")]), full_load=True, run_id="r1")
    pointer_path = layout.pointer_uri[len("file://") :]
    before = open(pointer_path).read()
    broken = frame(spark, [(2, "a", 2, "I", "2")]).withColumn(
        "qty", F.raise_error(F.lit("executor lost")).cast("int")
    )
    with pytest.raises(Exception, match="executor lost"):
        SnapshotSink(spark, layout, config).write(broken, full_load=False, run_id="r2")
    assert open(pointer_path).read() == before
    assert [r["id"] for r in read_current(lake, "src", "items").to_pylist()] == [1]
    # the half-written folder is never reused: the next version gets a fresh number
    commit = SnapshotSink(spark, layout, config).write(
        frame(spark, [(3, "a", 3, "I", "3")]), full_load=False, run_id="r3"
    )
    assert commit.version == 3 and json.loads(open(pointer_path).read())["version"] == 3
    assert sorted(r["id"] for r in read_current(lake, "src", "items").to_pylist()) == [1, 3]


def test_a_table_keeps_its_sink(spark, lake, make_config, monkeypatch):
    import spark_jobs.cdc.sinks as sinks

    config = make_config()
    layout = TableLayout(lake, "src", "items")
    assert select_sink(spark, layout, config).name == "hudi"  # auto: the bundle is on the classpath
    assert select_sink(spark, layout, config, requested="snapshot").name == "snapshot"
    SnapshotSink(spark, layout, config).write(
        frame(spark, [(1, "a", 1, "I", "1")]), full_load=True, run_id="r1"
    )
    assert select_sink(spark, layout, config).name == "snapshot"  # a snapshot table stays one
    with pytest.raises(ValueError, match="cannot switch to Hudi"):
        select_sink(spark, layout, config, requested="hudi")
    monkeypatch.setattr(sinks, "hudi_available", lambda session: False)
    with pytest.raises(RuntimeError, match="no Hudi Spark bundle .* `make install` fetches"):
        select_sink(spark, TableLayout(lake, "src", "other"), config, requested="hudi")


def _partition_inodes(layout: TableLayout, version: int) -> dict[str, set[int]]:
    """Partition folder -> inodes of its Parquet files (hard links share them)."""
    from pathlib import Path

    root = Path(layout.version_uri(version)[len("file://") :])
    return {
        folder.name: {f.stat().st_ino for f in folder.glob("*.parquet")}
        for folder in root.iterdir()
        if folder.is_dir() and "=" in folder.name
    }


def test_a_load_rewrites_only_the_partitions_it_touches(spark, lake, make_config):
    """Issue 12, case 6: key 1 moves from a to b, key 5 is deleted from d; c and the NULL
    partition are untouched and cloned (hard links: the same files), a is emptied, b and d
    are rewritten; the previous version can go (retention 1) without the clones losing data."""
    config = make_config(partition_by=["part"], retention_versions=1)
    layout = TableLayout(lake, "src", "items")
    rows = [(1, "a", 1, "I", "1"), (2, "b", 2, "I", "1"), (3, "c", 3, "I", "1")]
    rows += [(4, None, 4, "I", "1"), (5, "d", 5, "I", "1"), (6, "d", 6, "I", "1")]
    SnapshotSink(spark, layout, config).write(frame(spark, rows), full_load=True, run_id="r1")
    before = _partition_inodes(layout, 1)

    commit = SnapshotSink(spark, layout, config).write(
        frame(spark, [(1, "b", 10, "U", "2"), (5, "d", 5, "D", "2")]), full_load=False, run_id="r2"
    )

    after = _partition_inodes(layout, 2)
    null_folder = "part=__HIVE_DEFAULT_PARTITION__"
    assert after["part=c"] == before["part=c"] and after[null_folder] == before[null_folder]
    assert "part=a" not in after
    assert not after["part=b"] & before["part=b"] and not after["part=d"] & before["part=d"]
    assert existing_versions(layout) == [2] and commit.rows_after == 5
    current = sorted((r["id"], r["part"], r["qty"]) for r in read_current(lake, "src", "items").to_pylist())
    assert current == [(1, "b", 10), (2, "b", 2), (3, "c", 3), (4, None, 4), (6, "d", 6)]
    reread = SnapshotSink(spark, layout, config).read_table()
    assert sorted(r["id"] for r in reread.collect()) == [1, 2, 3, 4, 6]


def test_the_key_index_follows_every_load_and_is_read_by_bucket(spark, lake, make_config):
    """Issue 12, case 6: where a key lives comes from the key index, read only in the changed
    keys' buckets; it follows keys that move partitions, deletes and late changes, and goes with
    its version under retention."""
    from pathlib import Path

    config = make_config(partition_by=["part"], retention_versions=1)
    layout = TableLayout(lake, "src", "items")
    rows = [(k, "abcd"[k % 4], k, "I", "1") for k in range(1, 41)]
    SnapshotSink(spark, layout, config).write(frame(spark, rows), full_load=True, run_id="r1")
    SnapshotSink(spark, layout, config).write(
        frame(spark, [(1, "a", 10, "U", "2"), (5, "b", 5, "D", "2")]), full_load=False, run_id="r2"
    )
    # key 1 moves again (b -> a -> c); the change of key 2 is older than its row (late: dropped)
    commit = SnapshotSink(spark, layout, config).write(
        frame(spark, [(1, "c", 11, "U", "3"), (2, "a", 99, "U", "0"), (41, "d", 41, "I", "3")]),
        full_load=False,
        run_id="r3",
    )

    sink = SnapshotSink(spark, layout, config)
    table = sorted((r["id"], r["part"], r["_cdc_seq"]) for r in sink.read_table().collect())
    assert commit.rows_after == len(table) == 40
    assert (1, "c", "3") in table and (2, "c", "1") in table and not any(r[0] == 5 for r in table)
    pointer = current_pointer(lake, "src", "items")
    assert pointer["key_index"] == "key_index/v=3"
    index = spark.read.parquet(f"{layout.table_root}/key_index/v=3")
    assert sorted((r["id"], r["part"], r["_cdc_seq"]) for r in index.collect()) == table
    assert sorted(p.name for p in Path(layout.table_root[len("file://") :], "key_index").iterdir()) == ["v=3"]

    wanted = spark.createDataFrame([(1,), (2,), (999,)], "id long")
    found = sink.key_rows(wanted)
    assert sorted((r["id"], r["part"]) for r in found.collect()) == [(1, "c"), (2, "c")]
    buckets = {f.rsplit("/", 2)[-2] for f in found.inputFiles()}
    assert buckets and len(buckets) <= 3  # only the wanted keys' buckets were read
    assert all(b.startswith("_cdc_key_bucket=") for b in buckets)


def test_a_partitioned_load_leaves_the_callers_cached_change_set_cached(spark, lake, make_config):
    """The merge caches its change set and uses it after the table write (tombstones); the
    sink must not unpersist it, or its recomputation would read the key index retention
    deleted. A change set the caller did not cache is cached and released by the sink."""
    config = make_config(partition_by=["part"], retention_versions=1)
    layout = TableLayout(lake, "src", "items")
    rows = [(1, "a", 1, "I", "1"), (2, "b", 2, "I", "1")]
    SnapshotSink(spark, layout, config).write(frame(spark, rows), full_load=True, run_id="r1")

    cached = frame(spark, [(1, "b", 10, "U", "2")]).persist()
    SnapshotSink(spark, layout, config).write(cached, full_load=False, run_id="r2")
    assert cached.storageLevel.useMemory
    cached.unpersist()

    uncached = frame(spark, [(2, "a", 20, "U", "3")])
    SnapshotSink(spark, layout, config).write(uncached, full_load=False, run_id="r3")
    assert not uncached.storageLevel.useMemory and not uncached.storageLevel.useDisk
    current = sorted((r["id"], r["part"], r["qty"]) for r in read_current(lake, "src", "items").to_pylist())
    assert current == [(1, "b", 10), (2, "a", 20)]
