"""Merge semantics on hand-written DMS files: change order, net change, historical mode,
crash between table write and state commit, locking."""

from __future__ import annotations

import pytest

from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.merge import MergeSettings, merge_table
from spark_jobs.cdc.net_change import latest_per_key
from spark_jobs.cdc.outputs import read_changes, read_current
from spark_jobs.cdc.tracker import FileTracker
from spark_jobs.common.lake import exists
from spark_jobs.common.lock import LakeLock

pytestmark = pytest.mark.spark

LOAD_HEADER = ["ts", "id", "qty", "seq"]
CDC_HEADER = ["Op", "ts", "id", "qty", "seq"]


def ts(minute: int, micro: int = 0) -> str:
    return f"2024-01-01 00:{minute:02d}:00.{micro:06d}"


def current(lake, columns=("id", "qty")):
    return sorted(tuple(r[c] for c in columns) for r in read_current(lake, "src", "items").to_pylist())


def test_change_order_uses_ordering_columns_not_file_names(spark, dms, landing, lake, make_config):
    config = make_config()
    dms.csv(
        "LOAD00000001.csv", LOAD_HEADER, [[ts(10), 1, 1, None], [ts(10), 2, 2, None], [ts(10), 3, 3, None]]
    )
    # later file name, earlier commits for key 1; cached change (commit 00:05) before the load's transfer time
    dms.csv("20240101-001500000.csv", CDC_HEADER, [["U", ts(5), 1, 11, "05"], ["U", ts(20), 2, 22, "20"]])
    dms.csv(
        "20240101-001400000.csv",
        CDC_HEADER,
        [
            ["U", ts(6), 1, 12, "06"],
            ["I", ts(7), 4, 4, "07"],  # inserted and deleted in the batch: never reaches the table
            ["D", ts(8), 4, 4, "08"],
            ["D", ts(9), 3, 3, "09"],  # deleted, then re-inserted
            ["I", ts(10), 3, 33, "10"],
            ["I", ts(11), 5, 50, "11"],  # one transaction: same commit time, the sequence decides
            ["U", ts(11), 5, 51, "12"],
            ["U", ts(19), 2, 21, "19"],
        ],
    )
    settings = MergeSettings(landing, lake, run_id="r1", sink="snapshot")
    first = merge_table(spark, config, settings)
    assert first.status == "ok", first.error
    assert current(lake) == [(1, 12), (2, 22), (3, 33), (5, 51)]
    assert (first.full_load, first.inserted, first.updated, first.deleted) == (True, 4, 0, 0)
    assert first.changes_read == {"I": 6, "U": 5, "D": 2}

    dms.csv(
        "20240101-010000000.csv",
        CDC_HEADER,
        [
            ["U", ts(30), 1, 13, "30"],
            ["D", ts(31), 2, 22, "31"],
            ["U", ts(32), 9, 9, "32"],
            ["D", ts(33), 10, 1, "33"],
        ],
    )
    second = merge_table(spark, config, MergeSettings(landing, lake, run_id="r2", sink="snapshot"))
    assert (second.full_load, second.inserted, second.updated, second.deleted) == (False, 1, 1, 1)
    assert (second.rows_before, second.rows_after, second.version) == (4, 4, 2)
    assert current(lake) == [(1, 13), (3, 33), (5, 51), (9, 9)]
    changes = sorted((r["id"], r["_cdc_op"]) for r in read_changes(lake, "src", "items", "r2").to_pylist())
    assert changes == [(1, "U"), (2, "D"), (9, "I"), (10, "D")]  # key 10's delete: a tombstone only


def test_ties_fall_back_to_file_name_then_row_order(spark):
    from spark_jobs.cdc.reader import FILE_COL, KIND_COL, NAME_COL, ROW_COL, SRC_OP_COL

    rows = [
        # key 1: same commit time in two files: the later file name wins
        (1, "a", ts(1), 1, "f1.csv", "f1.csv", 0, "U"),
        (1, "b", ts(1), 1, "f2.csv", "f2.csv", 0, "U"),
        # key 2: same commit time in one file: the later row wins
        (2, "x", ts(1), 1, "f1.csv", "f1.csv", 1, "U"),
        (2, "y", ts(1), 1, "f1.csv", "f1.csv", 2, "U"),
        # key 3: a full-load row never wins over a CDC row, whatever the timestamps
        (3, "load", ts(9), 0, "LOAD1", "LOAD1", 0, "I"),
        (3, "cdc", ts(2), 1, "f1.csv", "f1.csv", 3, "U"),
        # key 4: NULL ordering values are the earliest
        (4, "null", None, 1, "f3.csv", "f3.csv", 0, "U"),
        (4, "set", ts(0), 1, "f1.csv", "f1.csv", 4, "U"),
    ]
    schema = f"id long, v string, ts string, {KIND_COL} int, {FILE_COL} string, {NAME_COL} string, {ROW_COL} long, {SRC_OP_COL} string"
    from spark_jobs.cdc.table_config import TableConfig

    config = TableConfig(
        source_db="s",
        source_schema="p",
        source_table="t",
        primary_key=["id"],
        ordering_columns=["ts"],
        cadence="daily",
        file_format="csv",
    )
    latest = latest_per_key(spark.createDataFrame(rows, schema), config)
    assert sorted((r["id"], r["v"]) for r in latest.collect()) == [(1, "b"), (2, "y"), (3, "cdc"), (4, "set")]


def test_historical_composite_key_keeps_every_change_and_survives_a_crash_before_commit(
    spark, dms, landing, lake, make_config, monkeypatch
):
    config = make_config(
        storage_mode="historical",
        primary_key=["id", "line"],
        csv={"header": False},
        columns=[
            {"name": "ts"},
            {"name": "id", "type": "bigint"},
            {"name": "line", "type": "int"},
            {"name": "qty", "type": "int"},
            {"name": "seq"},
        ],
    )
    dms.csv("LOAD00000001.csv", None, [[ts(1), 1, 1, 5, None], [ts(1), 1, 2, 6, None]])
    dms.csv(
        "20240101-000200000.csv",
        None,
        [["U", ts(2), 1, 1, 7, "2"], ["U", ts(2), 1, 1, 8, "3"], ["D", ts(3), 1, 2, 6, "4"]],
    )
    assert (
        merge_table(spark, config, MergeSettings(landing, lake, run_id="h1", sink="snapshot")).status == "ok"
    )

    dms.csv("20240101-000500000.csv", None, [["I", ts(5), 2, 1, 1, "5"], ["U", ts(6), 1, 1, 9, "6"]])
    original_commit = FileTracker.commit

    def crash(*args, **kwargs):
        raise OSError("driver lost before the state commit")

    monkeypatch.setattr(FileTracker, "commit", crash)
    crashed = merge_table(spark, config, MergeSettings(landing, lake, run_id="h2", sink="snapshot"))
    assert crashed.status == "failed" and "driver lost" in crashed.error["message"]
    assert crashed.files == ["20240101-000500000.csv"]  # still pending
    monkeypatch.setattr(FileTracker, "commit", original_commit)

    # the next run finishes h2's prepared commit and carries h2's change set for the warehouse
    retried = merge_table(spark, config, MergeSettings(landing, lake, run_id="h3", sink="snapshot"))
    assert retried.status == "ok" and retried.files == [] and "crashed run 'h2'" in retried.warnings[-1]
    assert (
        FileTracker(TableLayout(lake, "src", "items"))
        .load_state()
        .processed["20240101-000500000.csv"]["run_id"]
        == "h2"
    )
    carried = sorted(
        (r["id"], r["line"], r["_cdc_op"]) for r in read_changes(lake, "src", "items", "h3").to_pylist()
    )
    assert carried == [(1, 1, "U"), (2, 1, "I")]
    # named, not copied: a run without new files writes no change rows of its own
    layout = TableLayout(lake, "src", "items")
    assert retried.changes_uri == layout.changes_uri("h2") and not exists(layout.changes_uri("h3"))
    rows = sorted(
        (r["id"], r["line"], r["qty"], r["_cdc_op"]) for r in read_current(lake, "src", "items").to_pylist()
    )
    assert rows == [
        (1, 1, 5, "I"),
        (1, 1, 7, "U"),
        (1, 1, 8, "U"),
        (1, 1, 9, "U"),
        (1, 2, 6, "D"),
        (1, 2, 6, "I"),
        (2, 1, 1, "I"),
    ]
    assert retried.rows_after == 7


def test_a_locked_table_is_left_alone_until_the_lock_is_free(spark, dms, landing, lake, make_config):
    config = make_config()
    dms.csv("LOAD00000001.csv", LOAD_HEADER, [[ts(1), 1, 1, None]])
    layout = TableLayout(lake, "src", "items")
    other = LakeLock(layout.lock_root, owner="other-worker")
    lease = other.acquire("other-run")
    locked = merge_table(spark, config, MergeSettings(landing, lake, run_id="mine", sink="snapshot"))
    assert locked.status == "locked" and "other-run" in locked.error["message"]
    assert FileTracker(layout).load_state().processed == {}
    assert not exists(layout.pointer_uri)
    other.release(lease)
    assert (
        merge_table(spark, config, MergeSettings(landing, lake, run_id="mine-again", sink="snapshot")).status
        == "ok"
    )
    assert current(lake) == [(1, 1)]
