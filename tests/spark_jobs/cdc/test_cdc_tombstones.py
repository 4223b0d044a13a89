"""Tombstones (issue 11 leftover, an exactly-once case of issue 12): a deleted key keeps its
delete's ordering value, so an update older than the delete (a late DMS file) never re-inserts
it while a newer re-insert wins; on both sinks, and in the change set the warehouse loads."""

from __future__ import annotations

import pytest

from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.merge import MergeSettings, merge_table
from spark_jobs.cdc.outputs import read_changes, read_current
from spark_jobs.cdc.tombstones import TombstoneStore

pytestmark = pytest.mark.spark

HEADER = ["Op", "id", "v", "seq"]
SINKS = ["snapshot", "hudi"]


@pytest.fixture
def config(make_config):
    return make_config(
        ordering_columns=["seq"],
        columns=[{"name": "id", "type": "bigint"}, {"name": "seq", "type": "bigint"}],
    )


def order(cdc_seq: str) -> int:
    """The ``seq`` ordering value inside ``_cdc_seq`` (``<kind>|1<seq + 10^19, 20 digits>|...``)."""
    return int(cdc_seq.split("|")[1][1:]) - 10**19


def current(lake):
    return sorted((r["id"], r["v"]) for r in read_current(lake, "src", "items").to_pylist())


def changes(lake, run_id):
    rows = read_changes(lake, "src", "items", run_id).to_pylist()
    return sorted((r["id"], r["v"], r["_cdc_op"], order(r["_cdc_seq"])) for r in rows)


def tombstones(spark, config, lake):
    frame = TombstoneStore(spark, TableLayout(lake, "src", "items"), config).read()
    return [] if frame is None else sorted((r["id"], order(r["_cdc_seq"])) for r in frame.collect())


def run(spark, config, landing, lake, run_id, sink):
    result = merge_table(spark, config, MergeSettings(landing, lake, run_id=run_id, sink=sink))
    assert result.status == "ok" and result.sink == sink, result.error
    return result


@pytest.mark.parametrize("sink", SINKS)
def test_an_update_older_than_a_delete_never_re_inserts_the_key(spark, dms, landing, lake, config, sink):
    dms.csv("20240101-010000000.csv", HEADER, [["I", 1, "one", 1], ["I", 2, "two", 1]])
    run(spark, config, landing, lake, "r1", sink)
    dms.csv("20240101-020000000.csv", HEADER, [["D", 1, "one", 10]])
    deleted = run(spark, config, landing, lake, "r2", sink)
    assert deleted.deleted == 1 and tombstones(spark, config, lake) == [(1, 10)]

    dms.csv("20240101-015900000.csv", HEADER, [["U", 1, "stale", 5]])  # lands after the delete
    late = run(spark, config, landing, lake, "r3", sink)

    assert current(lake) == [(2, "two")]
    assert (late.inserted, late.updated, late.deleted) == (0, 0, 0)
    assert any("1 late change(s)" in w for w in late.warnings)
    assert late.changes_uri is None  # the warehouse gets nothing to re-insert either

    dms.csv("20240101-030000000.csv", HEADER, [["I", 1, "back", 11]])  # a real re-insert
    back = run(spark, config, landing, lake, "r4", sink)

    assert current(lake) == [(1, "back"), (2, "two")]
    assert back.inserted == 1 and tombstones(spark, config, lake) == []
    assert changes(lake, "r4") == [(1, "back", "I", 11)]


@pytest.mark.parametrize("sink", SINKS)
def test_a_delete_landing_before_its_insert_keeps_the_key_out(spark, dms, landing, lake, config, sink):
    dms.csv("20240101-010000000.csv", HEADER, [["I", 2, "two", 1]])
    run(spark, config, landing, lake, "r1", sink)
    dms.csv("20240101-020000000.csv", HEADER, [["D", 3, "three", 10]])  # key 3 never reached the lake
    first = run(spark, config, landing, lake, "r2", sink)
    assert first.deleted == 0 and changes(lake, "r2") == [(3, "three", "D", 10)]

    dms.csv("20240101-015900000.csv", HEADER, [["I", 3, "three", 9], ["U", 2, "two'", 9]])
    late = run(spark, config, landing, lake, "r3", sink)

    assert current(lake) == [(2, "two'")]
    assert (late.inserted, late.updated) == (0, 1)
    assert changes(lake, "r3") == [(2, "two'", "U", 9)]
    assert tombstones(spark, config, lake) == [(3, 10)]


def test_a_full_load_starts_the_tombstones_over(spark, dms, landing, lake, config):
    dms.csv("20240101-010000000.csv", HEADER, [["D", 1, "one", 10]])
    run(spark, config, landing, lake, "r1", "snapshot")
    assert tombstones(spark, config, lake) == [(1, 10)]
    dms.csv("LOAD00000001.csv", ["id", "v", "seq"], [[1, "reloaded", 1]])  # the source holds key 1 again

    run(spark, config, landing, lake, "r2", "snapshot")

    assert current(lake) == [(1, "reloaded")] and tombstones(spark, config, lake) == []
