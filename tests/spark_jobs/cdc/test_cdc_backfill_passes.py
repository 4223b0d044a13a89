"""Backfilling the same intervals twice changes nothing in the lake.

The week-long backfill check found it: its second pass over ``cdc_daily`` wrote the payments
change set (all 136 changes) once more, under a run that had found no new file the first time
(lake change rows 136 -> 272). The DMS files had been landed again with the same rows (a new
mtime locally; on S3 a new ETag when the object is encrypted with KMS or uploaded in parts), so
they were pending again: the cleared first
run reused its stored result (its files stayed pending) and the next run merged every change a
second time. Each pass here runs the DAG's way: plan, then a merge only for the tables with
pending files (a run without new files starts no job), for every run id of the window."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from data_platform.local.table_hashes import lake_hashes
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.merge import MergeSettings, merge_table
from spark_jobs.cdc.outputs import hudi_commits, read_changes, read_current
from spark_jobs.cdc.plan import plan_cadence
from spark_jobs.cdc.sinks.snapshot import existing_versions

pytestmark = pytest.mark.spark

HEADER = ["Op", "ts", "id", "qty", "seq"]
LOAD_HEADER = ["ts", "id", "qty", "seq"]
ITEMS, PAYMENTS = "src/public/items", "src/public/payments"
WINDOW = ["backfill__2026-01-15", "backfill__2026-01-16", "backfill__2026-01-17"]


def ts(second: int) -> str:
    return f"2024-01-01 00:00:{second:02d}"


def _land(dms: Any, day: int) -> list[Path]:
    """Day 0: a full load and a CDC file, day 1: two CDC files; of a current and a historical table."""
    files = []
    for folder in (ITEMS, PAYMENTS):
        if day == 0:
            files.append(dms.csv("LOAD00000001.csv", LOAD_HEADER, [[ts(0), k, k, ""] for k in range(1, 6)], folder))
            files.append(dms.csv("20240101-000100000.csv", HEADER, [["U", ts(1), 1, 10, "01"], ["D", ts(2), 2, 2, "02"]], folder))
        else:
            files.append(dms.csv("20240101-000200000.csv", HEADER, [["I", ts(3), 6, 6, "03"], ["U", ts(4), 1, 11, "04"]], folder))
            files.append(dms.csv("20240101-000300000.csv", HEADER, [["D", ts(5), 6, 6, "05"], ["I", ts(6), 2, 20, "06"]], folder))
    return files


def _land_again(files: list[Path]) -> None:
    """The same files landed again: same bytes, a newer mtime (a new ETag on S3)."""
    for path in files:
        data = path.read_bytes()
        path.write_bytes(data)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def configs(make_config) -> list[Any]:
    return [
        make_config(source_table="items"),
        make_config(source_table="payments", storage_mode="historical"),
    ]


def _backfill(spark, configs, landing, lake, sink: str, run_ids: list[str], before_run=None) -> dict[str, list[dict]]:
    """Each run as the DAG runs it: plan, then merge the tables with pending files.
    ``before_run(index)``: lands that run's files first (the first pass)."""
    results: dict[str, list[dict]] = {}
    for index, run_id in enumerate(run_ids):
        if before_run is not None:
            before_run(index)
        plan = plan_cadence(configs, "hourly", landing, lake)
        planned = {table for batch in plan["batches"] for table in batch["tables"]}
        settings = MergeSettings(landing, lake, run_id=run_id, sink=sink)  # type: ignore[arg-type]
        results[run_id] = [merge_table(spark, c, settings).to_dict() for c in configs if c.table_id in planned]
    return results


def _lake(lake: str, sink: str) -> dict[str, Any]:
    """What the backfill check compares (row hashes and counts of every lake dataset, change sets
    included) and the table commits (Hudi commits / snapshot versions)."""
    commits = {}
    for table in ("items", "payments"):
        if sink == "hudi":
            commits[table] = [c["run_id"] for c in hudi_commits(lake, "src", table)]
        else:
            commits[table] = existing_versions(TableLayout(lake, "src", table))
    return {"hashes": lake_hashes(Path(lake[len("file://") :])), "commits": commits}


@pytest.mark.parametrize("sink", ["hudi", "snapshot"])
def test_a_second_backfill_over_files_landed_again_adds_nothing(spark, dms, landing, lake, configs, sink):
    files: list[Path] = []
    first = _backfill(
        spark, configs, landing, lake, sink, WINDOW, before_run=lambda i: files.extend(_land(dms, i) if i < 2 else [])
    )
    assert [[r["status"] for r in first[run]] for run in WINDOW] == [["ok", "ok"], ["ok", "ok"], []]
    before = _lake(lake, sink)
    assert before["hashes"]["cdc/src/payments/changes"].rows == 11  # 5 loaded + 6 changes

    _land_again(files)
    second = _backfill(spark, configs, landing, lake, sink, WINDOW)

    # the cleared runs reuse their stored results (the first one, superseded, loads the current
    # rows of its keys); the plan counts the rewritten files, the third run finds their bytes
    # processed already (same digests) and records them
    assert all(r["reused"] for run in WINDOW[:2] for r in second[run])
    merged_again = second[WINDOW[2]]
    assert [r["status"] for r in merged_again] == ["noop", "noop"]
    assert all(any("landed again with the same bytes" in w for w in r["warnings"]) for r in merged_again)
    assert all(r["changes_uri"] is None for r in merged_again), "no change set: nothing is new"
    assert _lake(lake, sink) == before  # no change rows, no table commit, the same rows
    assert plan_cadence(configs, "hourly", landing, lake)["batches"] == []  # processed again

    # files landed again next to a new one: only the new file's changes are applied and loaded
    _land_again([f for f in files if "payments" in str(f)])
    dms.csv("20240101-000400000.csv", HEADER, [["U", ts(7), 3, 30, "07"]], PAYMENTS)
    (result,) = _backfill(spark, configs, landing, lake, sink, ["backfill__2026-01-18"])["backfill__2026-01-18"]
    assert result["table_id"] == "src.payments" and (result["inserted"], result["updated"]) == (0, 1)
    assert not result["full_load"]  # its full load was applied before: the new row is appended
    assert any("landed again with the same bytes" in w for w in result["warnings"])
    new = read_changes(lake, "src", "payments", "backfill__2026-01-18").to_pylist()
    assert [(r["id"], r["qty"], r["_cdc_op"]) for r in new] == [(3, 30, "U")]
    history = sorted((r["id"], r["qty"], r["_cdc_op"]) for r in read_current(lake, "src", "payments").to_pylist())
    assert len(history) == 12 and history.count((1, 11, "U")) == 1
