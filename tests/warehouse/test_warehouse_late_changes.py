"""Warehouse merge with order_by (issue 11, item 1): the target row's ordering value takes part,
with the lake merge's NULL-ordering rule (a NULL ordering value is older than any value)."""

from __future__ import annotations

from data_platform.warehouse.operators import LoadToWarehouseOperator
from tests.warehouse.conftest import event, event_schema, task_context
from tests.warehouse.test_warehouse_load import merge_task


def merge(uris, **kwargs) -> dict:
    return merge_task(uris, order_by=["seq"], **kwargs).execute(task_context())


def rows(warehouse) -> list[tuple]:
    return warehouse.query("SELECT event_id, event_type, seq FROM demo.events ORDER BY 1")


def test_a_late_update_never_overwrites_a_newer_row(warehouse):
    merge([warehouse.parquet("cdc/f0.parquet", [event(1, seq=1)])])
    merge([warehouse.parquet("cdc/f1.parquet", [event(1, op="U", seq=100, event_type="new")])])

    late = merge([warehouse.parquet("cdc/f2.parquet", [event(1, op="U", seq=99, event_type="old")])])

    assert rows(warehouse) == [(1, "new", 100)]
    assert late["rows_updated"] == 0


def test_a_late_delete_never_removes_a_newer_row(warehouse):
    merge([warehouse.parquet("cdc/f0.parquet", [event(1, seq=100), event(2, seq=100)])])

    late = merge([warehouse.parquet("cdc/f1.parquet", [event(1, op="D", seq=99), event(2, op="D", seq=101)])])

    assert rows(warehouse) == [(1, "view", 100)]
    assert late["rows_deleted"] == 1


def test_a_rerun_of_the_same_change_applies_again(warehouse):
    change = warehouse.parquet("cdc/f1.parquet", [event(1, op="U", seq=5, event_type="click")])
    merge([warehouse.parquet("cdc/f0.parquet", [event(1, seq=1)])])
    merge([change])
    again = merge([change])
    assert rows(warehouse) == [(1, "click", 5)] and again["rows_updated"] == 1


def test_null_ordering_values_are_the_oldest_as_in_the_lake(warehouse):
    merge([warehouse.parquet("cdc/f0.parquet", [event(1, seq=5), {**event(2), "seq": None}])])
    merge(
        [
            warehouse.parquet(
                "cdc/f1.parquet",
                [
                    {**event(1, op="U", event_type="null-late"), "seq": None},  # older than seq 5
                    event(2, op="U", seq=1, event_type="valued"),  # newer than the row's NULL
                    # inside one load: the valued change wins over the NULL one, whatever the order
                    event(3, seq=2, event_type="kept"),
                    {**event(3, event_type="null"), "seq": None},
                ],
            )
        ]
    )
    assert rows(warehouse) == [(1, "view", 5), (2, "valued", 1), (3, "kept", 2)]


def test_text_ordering_values_compare_byte_wise(warehouse):
    """``_cdc_seq`` is text ordered byte-wise (as Spark compares it), whatever the collation."""
    import pyarrow as pa

    schema = event_schema().set(event_schema().get_field_index("seq"), pa.field("seq", pa.string()))
    warehouse.execute(
        "CREATE SCHEMA IF NOT EXISTS demo; "
        "CREATE TABLE demo.events (event_id BIGINT, user_id TEXT, event_type TEXT, amount NUMERIC(12,2), "
        "event_ts TIMESTAMP, event_date DATE, updated_at TIMESTAMP, seq TEXT)"
    )
    merge([warehouse.parquet("cdc/f0.parquet", [{**event(1, event_type="upper"), "seq": "1|B"}], schema)])
    merge([warehouse.parquet("cdc/f1.parquet", [{**event(1, event_type="lower"), "seq": "1|a"}], schema)])
    assert warehouse.query("SELECT event_type FROM demo.events") == [("lower",)]  # 'a' > 'B' byte-wise


def tombstones(warehouse) -> list[tuple]:
    return warehouse.query("SELECT event_id, seq FROM demo.events__tombstones ORDER BY 1")


def test_an_update_older_than_a_delete_never_re_inserts_the_key(warehouse):
    """Issue 11/12: a deleted key keeps its delete's ordering value (a tombstone)."""
    merge([warehouse.parquet("cdc/f0.parquet", [event(1, seq=1), event(2, seq=1)])])
    merge([warehouse.parquet("cdc/f1.parquet", [event(1, op="D", seq=10)])])
    assert tombstones(warehouse) == [(1, 10)]

    late = merge([warehouse.parquet("cdc/f2.parquet", [event(1, op="U", seq=5, event_type="stale")])])

    assert rows(warehouse) == [(2, "view", 1)]
    assert late["rows_inserted"] == 0 and tombstones(warehouse) == [(1, 10)]


def test_a_re_insert_newer_than_the_delete_wins_and_clears_the_tombstone(warehouse):
    merge([warehouse.parquet("cdc/f0.parquet", [event(1, seq=1)])])
    merge([warehouse.parquet("cdc/f1.parquet", [event(1, op="D", seq=10)])])

    merge([warehouse.parquet("cdc/f2.parquet", [event(1, seq=11, event_type="back")])])

    assert rows(warehouse) == [(1, "back", 11)] and tombstones(warehouse) == []
    # a late delete older than the re-insert leaves the row and no tombstone
    merge([warehouse.parquet("cdc/f3.parquet", [event(1, op="D", seq=10)])])
    assert rows(warehouse) == [(1, "back", 11)] and tombstones(warehouse) == []


def test_a_delete_of_a_key_never_loaded_still_blocks_its_older_insert(warehouse):
    merge([warehouse.parquet("cdc/f0.parquet", [event(1, op="D", seq=10)])])
    merge([warehouse.parquet("cdc/f1.parquet", [event(1, seq=9), event(2, seq=9)])])
    assert rows(warehouse) == [(2, "view", 9)] and tombstones(warehouse) == [(1, 10)]
    # a newer delete moves the tombstone forward; reloading the same files changes nothing
    merge([warehouse.parquet("cdc/f2.parquet", [event(1, op="D", seq=12)])])
    merge([warehouse.parquet("cdc/f1.parquet", [event(1, seq=9), event(2, seq=9)])])
    assert rows(warehouse) == [(2, "view", 9)] and tombstones(warehouse) == [(1, 12)]


def test_a_snapshot_load_forgets_the_tombstones(warehouse):
    merge([warehouse.parquet("cdc/f0.parquet", [event(1, op="D", seq=10)])])
    LoadToWarehouseOperator(
        task_id="load_events",
        table="demo.events",
        source_uris=[warehouse.parquet("cdc/full.parquet", [event(1, seq=1)], event_schema(with_op=False))],
        mode="snapshot",
        primary_key=["event_id"],
    ).execute(task_context())
    assert rows(warehouse) == [(1, "view", 1)]
    assert warehouse.query("SELECT to_regclass('demo.events__tombstones')") == [(None,)]
