"""A text ordering column keeps one width across batches, not only within one (issue 11, item 2):
the width is kept in the table's state; a batch of another width fails naming table, column and
fix (files stay pending, the table unchanged); a DMS full load rebuilds the table and its width."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spark_jobs.cdc.merge import MergeSettings, merge_table
from spark_jobs.cdc.outputs import read_current

pytestmark = pytest.mark.spark

HEADER = ["Op", "ts", "id", "qty", "seq"]
TS = "2024-01-01 01:00:00.000000"


def state(lake: str) -> dict:
    return json.loads(Path(lake.removeprefix("file://"), "_state/cdc/src/items/state.json").read_text())


def test_a_wider_sequence_in_a_later_batch_fails_until_a_full_load(spark, dms, landing, lake, make_config):
    config = make_config()  # ts and seq are text (no type in columns)

    def merge(run_id: str):
        return merge_table(spark, config, MergeSettings(landing, lake, run_id=run_id, sink="snapshot"))

    dms.csv("20240101-010000000.csv", HEADER, [["I", TS, 1, 10, "8"], ["U", TS, 1, 11, "9"]])
    assert merge("r1").status == "ok"
    assert state(lake)["ordering_widths"] == {"ts": 26, "seq": 1}
    before = json.dumps(state(lake), sort_keys=True)

    # '10' is newer than '9', but as text it sorts before it: the update would be dropped as late
    dms.csv("20240101-020000000.csv", HEADER, [["U", TS, 1, 12, "10"]])
    failed = merge("r2")

    assert failed.status == "failed" and failed.error["kind"] == "ordering_column"
    message = failed.error["message"]
    assert message.startswith("src.items: ordering column 'seq' is text of width 2 in these files")
    assert "but of width 1 in the table" in message and "reload the table with a DMS full load" in message
    assert failed.error["files"] == ["20240101-020000000.csv"]
    assert json.dumps(state(lake), sort_keys=True) == before, "state unchanged, the file stays pending"
    assert [(r["id"], r["qty"]) for r in read_current(lake, "src", "items").to_pylist()] == [(1, 11)]

    # the DMS full load (reload) rebuilds the table; the pending change is applied on top of it
    dms.csv("LOAD00000001.csv", ["ts", "id", "qty", "seq"], [[TS, 1, 11, "05"], [TS, 2, 20, "05"]])
    reloaded = merge("r3")

    assert reloaded.status == "ok", reloaded.error
    assert state(lake)["ordering_widths"] == {"ts": 26, "seq": 2}
    rows = sorted((r["id"], r["qty"]) for r in read_current(lake, "src", "items").to_pylist())
    assert rows == [(1, 12), (2, 20)]


def test_a_crashed_runs_prepared_commit_carries_its_widths_into_the_state(tmp_path):
    """A full load that changed the width and crashed after its table write: the run finishing
    its prepared commit stores the new width (else the next batch would be refused)."""
    from spark_jobs.cdc.layout import TableLayout
    from spark_jobs.cdc.results import TableResult
    from spark_jobs.cdc.tracker import FileTracker, TableState

    tracker = FileTracker(TableLayout(f"file://{tmp_path}", "src", "items"))
    old = TableState(table_id="src.items", ordering_widths={"seq": 1})
    result = TableResult(table_id="src.items", run_id="r3", status="ok", started_at="t")
    tracker.prepare([], None, result, {"seq": 2})

    assert tracker.prepared_ordering_widths() == {"seq": 2}
    assert tracker.commit(old, [], None, result, tracker.prepared_ordering_widths()).ordering_widths == {"seq": 2}
    assert tracker.commit(old, [], None, result).ordering_widths == {"seq": 1}, "None keeps the state's"
