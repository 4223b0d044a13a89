"""Late changes and ordering values (issue 11, items 1 and 2): DMS writes files out of commit
order, ordering columns compare by type, NULL ordering values are the oldest."""

from __future__ import annotations

import pytest

from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.merge import MergeSettings, merge_table
from spark_jobs.cdc.outputs import read_changes, read_current
from spark_jobs.cdc.sinks.snapshot import SnapshotSink

pytestmark = pytest.mark.spark

CDC_HEADER = ["Op", "id", "v", "seq"]


def sequenced(**overrides):
    """Config of the test table ordered by a bigint change sequence alone."""
    values = {
        "ordering_columns": ["seq"],
        "columns": [{"name": "id", "type": "bigint"}, {"name": "seq", "type": "bigint"}],
    }
    values.update(overrides)
    return values


def current(lake):
    return sorted((r["id"], r["v"]) for r in read_current(lake, "src", "items").to_pylist())


def run(spark, config, landing, lake, run_id):
    result = merge_table(spark, config, MergeSettings(landing, lake, run_id=run_id))
    assert result.status == "ok", result.error
    return result


def test_a_late_update_never_overwrites_a_newer_row(spark, dms, landing, lake, make_config):
    config = make_config(**sequenced())
    dms.csv("LOAD00000001.csv", ["id", "v", "seq"], [[1, "loaded", 1]])
    run(spark, config, landing, lake, "r0")
    dms.csv("20240101-010000000.csv", CDC_HEADER, [["U", 1, "new", 100]])
    run(spark, config, landing, lake, "r1")
    dms.csv("20240101-005900000.csv", CDC_HEADER, [["U", 1, "old", 99]])  # lands after run 1

    late = run(spark, config, landing, lake, "r2")

    assert current(lake) == [(1, "new")]
    assert (late.inserted, late.updated, late.deleted) == (0, 0, 0)
    assert any("1 late change(s)" in w for w in late.warnings)


def test_a_late_delete_never_removes_a_reinserted_row(spark, dms, landing, lake, make_config):
    config = make_config(**sequenced())
    dms.csv("LOAD00000001.csv", ["id", "v", "seq"], [[1, "loaded", 1], [2, "other", 1]])
    run(spark, config, landing, lake, "r0")
    dms.csv("20240101-010000000.csv", CDC_HEADER, [["I", 1, "again", 100], ["U", 2, "two", 100]])
    run(spark, config, landing, lake, "r1")
    dms.csv("20240101-005900000.csv", CDC_HEADER, [["D", 1, "loaded", 99], ["D", 2, "two", 101]])

    late = run(spark, config, landing, lake, "r2")

    assert current(lake) == [(1, "again")]  # key 2's delete is newer than its row: applied
    assert (late.updated, late.deleted) == (0, 1)
    changes = [(r["id"], r["_cdc_op"]) for r in read_changes(lake, "src", "items", "r2").to_pylist()]
    assert changes == [(2, "D")]  # the warehouse gets no late change either


def test_the_snapshot_sink_itself_keeps_the_newer_row(spark, lake, make_config):
    config = make_config(**sequenced())
    schema = "id long, v string, seq long, _cdc_op string, _cdc_seq string"
    sink = SnapshotSink(spark, TableLayout(lake, "src", "items"), config)
    sink.write(
        spark.createDataFrame([(1, "new", 100, "I", "1|b"), (2, "x", 1, "I", "1|b")], schema),
        full_load=True,
        run_id="r1",
    )
    late = spark.createDataFrame([(1, "old", 99, "U", "1|a"), (2, "x", 1, "D", "1|a")], schema)
    SnapshotSink(spark, TableLayout(lake, "src", "items"), config).write(late, full_load=False, run_id="r2")
    assert current(lake) == [(1, "new"), (2, "x")]


def test_ordering_values_compare_by_type_not_as_text(spark, dms, landing, lake, make_config):
    config = make_config(**sequenced())
    dms.csv(
        "20240101-010000000.csv", CDC_HEADER, [["I", 1, "nine", 9], ["U", 1, "ten", 10], ["I", 2, "neg", -5]]
    )
    run(spark, config, landing, lake, "r1")
    dms.csv("20240101-020000000.csv", CDC_HEADER, [["U", 2, "older", -7], ["U", 1, "eleven", 11]])
    run(spark, config, landing, lake, "r2")
    # -7 < -5 although its text sorts higher; 11 > 10 after 9 < 10 inside one file
    assert current(lake) == [(1, "eleven"), (2, "neg")]


def test_untyped_text_ordering_column_of_varying_width_is_refused(spark, dms, landing, lake, make_config):
    config = make_config(ordering_columns=["version"], columns=[{"name": "id", "type": "bigint"}])
    dms.csv("20240101-010000000.csv", ["Op", "id", "v", "version"], [["I", 1, "a", 9], ["U", 1, "b", 10]])

    result = merge_table(spark, config, MergeSettings(landing, lake, run_id="r1"))

    assert result.status == "failed"
    assert result.error["kind"] == "ordering_column"
    assert "'version' is text of varying width" in result.error["message"]
    assert "type: bigint" in result.error["message"]


def test_fixed_width_text_ordering_column_is_accepted(spark, dms, landing, lake, make_config):
    config = make_config(ordering_columns=["change_seq"], columns=[{"name": "id", "type": "bigint"}])
    header = ["Op", "id", "v", "change_seq"]
    dms.csv("20240101-010000000.csv", header, [["I", 1, "a", "0009"], ["U", 1, "b", "0010"]])
    run(spark, config, landing, lake, "r1")
    assert current(lake) == [(1, "b")]


def test_a_null_ordering_value_is_older_than_any_value(spark, dms, landing, lake, make_config):
    config = make_config(**sequenced())
    dms.csv("20240101-010000000.csv", CDC_HEADER, [["I", 1, "set", 5], ["I", 2, "null-first", None]])
    run(spark, config, landing, lake, "r1")
    # across loads: a NULL never overwrites a value; a value overwrites a NULL
    dms.csv("20240101-020000000.csv", CDC_HEADER, [["U", 1, "null-late", None], ["U", 2, "valued", 1]])
    run(spark, config, landing, lake, "r2")
    assert current(lake) == [(1, "set"), (2, "valued")]
