"""Warehouse merge with order_by (issue 11, item 1): the target row's ordering value takes part,
with the lake merge's NULL-ordering rule (a NULL ordering value is older than any value)."""

from __future__ import annotations

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
