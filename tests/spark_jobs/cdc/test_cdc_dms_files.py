"""DMS file naming, landing listing and pending-file tracking."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spark_jobs.cdc.dms_files import CDC, FULL_LOAD, classify, list_landed_files
from spark_jobs.cdc.layout import TableLayout, landing_table_uri
from spark_jobs.cdc.results import TableResult
from spark_jobs.cdc.tracker import FileTracker
from spark_jobs.common.lake import local_path


@pytest.mark.parametrize(
    ("rel_path", "expected"),
    [
        ("LOAD00000001.csv", (FULL_LOAD, "csv")),
        ("LOAD0000000A.parquet", (FULL_LOAD, "parquet")),
        ("LOAD00000002.csv.gz", (FULL_LOAD, "csv")),
        ("20240501-101500123.csv", (CDC, "csv")),
        ("2024/05/01/20240501-101500123.parquet", (CDC, "parquet")),
        ("20240501/20240501-101500123.csv", (CDC, "csv")),
        ("2024/05/01/LOAD00000001.csv", None),
        ("_SUCCESS", None),
        ("notes/readme.csv", None),
        ("20240501-1015.csv", None),
    ],
)
def test_classify(rel_path, expected):
    assert classify(rel_path) == expected


def test_listing_orders_full_load_first_and_reports_strays(dms, landing):
    dms.raw("2024/05/02/20240502-000000001.csv", b"x")
    dms.raw("20240501-235959999.csv", b"x")
    dms.raw("LOAD00000002.csv", b"x")
    dms.raw("LOAD00000001.csv", b"x")
    dms.raw("stray.txt", b"x")
    landed, ignored = list_landed_files(landing_table_uri(landing, "src/public/items"))
    assert [f.rel_path for f in landed] == [
        "LOAD00000001.csv",
        "LOAD00000002.csv",
        "20240501-235959999.csv",
        "2024/05/02/20240502-000000001.csv",
    ]
    assert landed[0].uri.endswith("/src/public/items/LOAD00000001.csv")
    assert ignored == ["stray.txt"]


def test_pending_files_are_the_unprocessed_or_rewritten_ones(dms, landing, lake):
    dms.raw("LOAD00000001.csv", b"a")
    dms.raw("20240501-000000001.csv", b"b")
    tracker = FileTracker(TableLayout(lake, "src", "items"))
    landed, _ = list_landed_files(landing_table_uri(landing, "src/public/items"))
    state = tracker.load_state()
    assert tracker.pending_files(state, landed) == landed
    result = TableResult("src.items", "run-1", "ok", started_at="t", finished_at="t")
    state = tracker.commit(state, landed[:1], [{"name": "id", "type": "bigint"}], result)
    assert tracker.load_state() == state
    assert [f.rel_path for f in tracker.pending_files(state, landed)] == ["20240501-000000001.csv"]
    dms.raw("LOAD00000001.csv", b"rewritten")
    landed, _ = list_landed_files(landing_table_uri(landing, "src/public/items"))
    assert [f.rel_path for f in tracker.pending_files(state, landed)] == [
        "LOAD00000001.csv",
        "20240501-000000001.csv",
    ]
    assert tracker.committed_result(state, "run-1").status == "ok"
    assert tracker.committed_result(state, "run-2") is None
    assert [r["run_id"] for r in tracker.history()] == ["run-1"]


def test_a_processed_file_landed_again_with_the_same_bytes_is_not_pending(dms, landing, lake):
    dms.raw("LOAD00000001.csv", b"a")
    dms.raw("20240501-000000001.csv", b"b")
    tracker = FileTracker(TableLayout(lake, "src", "items"))
    folder = landing_table_uri(landing, "src/public/items")
    landed, _ = list_landed_files(folder)
    result = TableResult("src.items", "run-1", "ok", started_at="t", finished_at="t")
    state = tracker.commit(tracker.load_state(), tracker.with_digests(landed), None, result)
    assert tracker.load_state() == state

    def relanded(data: bytes) -> tuple[list[str], list[str]]:
        path = Path(local_path(folder)) / "LOAD00000001.csv"
        mtime = path.stat().st_mtime_ns
        dms.raw("LOAD00000001.csv", data)
        os.utime(path, ns=(mtime + 10**9, mtime + 10**9))  # a new mtime (ETag on S3)
        pending, again = tracker.split_landed(state, list_landed_files(folder)[0])
        return [f.rel_path for f in pending], [f.rel_path for f in again]

    assert relanded(b"a") == ([], ["LOAD00000001.csv"])
    state = tracker.mark_landed_again(state, tracker.split_landed(state, list_landed_files(folder)[0])[1])
    assert tracker.split_landed(tracker.load_state(), list_landed_files(folder)[0]) == ([], [])
    assert state.processed["LOAD00000001.csv"]["run_id"] == "run-1"
    assert relanded(b"c") == (["LOAD00000001.csv"], [])  # same size, other bytes


def test_a_file_processed_before_digests_were_recorded_is_pending_on_any_change(dms, landing, lake):
    dms.raw("LOAD00000001.csv", b"a")
    tracker = FileTracker(TableLayout(lake, "src", "items"))
    folder = landing_table_uri(landing, "src/public/items")
    landed, _ = list_landed_files(folder)
    result = TableResult("src.items", "run-1", "ok", started_at="t", finished_at="t")
    state = tracker.commit(tracker.load_state(), landed, None, result)
    del state.processed["LOAD00000001.csv"]["digest"]  # a state.json of the version before digests
    path = Path(local_path(folder)) / "LOAD00000001.csv"
    mtime = path.stat().st_mtime_ns
    os.utime(path, ns=(mtime + 10**9, mtime + 10**9))
    assert tracker.split_landed(state, list_landed_files(folder)[0]) == (list_landed_files(folder)[0], [])
