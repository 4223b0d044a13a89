"""Schema drift reaches the warehouse loudly (issue 11, item 6): a column the target lacks fails the
load naming it or is added (configured); values the target cannot hold exactly fail with the file,
column and value, never truncated or stored as NaN."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from data_platform.warehouse.operators import LoadToWarehouseOperator
from tests.warehouse.conftest import event, event_schema, task_context
from tests.warehouse.test_warehouse_load import merge_task

WITH_NOTE = event_schema().append(pa.field("note", pa.string()))


def test_a_new_column_fails_the_load_naming_it_and_nothing_changes(warehouse):
    merge_task([warehouse.parquet("cdc/f0.parquet", [event(1)])]).execute(task_context())
    drifted = warehouse.parquet(
        "cdc/f1.parquet", [{**event(1, op="U", event_type="click"), "note": "hi"}], WITH_NOTE
    )

    with pytest.raises(ValueError, match=r"column\(s\) \['note'\] that table demo.events does not have"):
        merge_task([drifted]).execute(task_context())

    assert warehouse.query("SELECT event_type FROM demo.events") == [("view",)]


def test_new_columns_add_adds_the_column_and_keeps_every_value(warehouse):
    merge_task([warehouse.parquet("cdc/f0.parquet", [event(1)])]).execute(task_context())
    drifted = warehouse.parquet("cdc/f1.parquet", [{**event(2), "note": "kept"}], WITH_NOTE)

    merge_task([drifted], new_columns="add").execute(task_context())

    assert warehouse.query("SELECT event_id, note FROM demo.events ORDER BY 1") == [(1, None), (2, "kept")]


def load_one(warehouse, column: str, value, arrow_type) -> str:
    merge_task([warehouse.parquet("cdc/good.parquet", [event(2)])]).execute(task_context())
    schema = event_schema().set(event_schema().get_field_index(column), pa.field(column, arrow_type))
    uri = warehouse.parquet("cdc/bad.parquet", [{**event(1), column: value}], schema)
    with pytest.raises(ValueError) as failure:
        merge_task([uri]).execute(task_context())
    message = str(failure.value)
    assert uri in message and f"column {column!r}" in message
    assert warehouse.query("SELECT event_id FROM demo.events") == [(2,)]
    return message


@pytest.mark.parametrize(
    ("column", "value", "arrow_type", "shown"),
    [
        ("user_id", "u" * 65, pa.string(), "'" + "u" * 65 + "'"),  # VARCHAR(64)
        ("amount", float("nan"), pa.float64(), "NaN"),  # DECIMAL(12,2)
        ("amount", float("inf"), pa.float64(), "Infinity"),
        ("amount", Decimal("12345678901.00"), pa.decimal128(13, 2), "12345678901.00"),  # > 10 digits
    ],
)
def test_values_the_target_cannot_hold_fail_with_file_column_and_value(
    warehouse, column, value, arrow_type, shown
):
    message = load_one(warehouse, column, value, arrow_type)
    assert shown in message


def test_integer_out_of_range_fails_with_the_value(warehouse):
    warehouse.execute("CREATE SCHEMA demo; CREATE TABLE demo.small (id BIGINT PRIMARY KEY, n INTEGER)")
    uri = warehouse.parquet(
        "x/f.parquet", [{"id": 1, "n": 2**31}], pa.schema([("id", pa.int64()), ("n", pa.int64())])
    )
    with pytest.raises(ValueError, match=rf"column 'n': value '{2**31}' does not fit demo.small.n"):
        LoadToWarehouseOperator(task_id="load", table="demo.small", source_uris=[uri], create_table=False, mode="append").execute(
            task_context()
        )
