"""Decimal scale is never lost in the warehouse load (issue 11, item 6, values the target cannot
hold exactly): a value with more fractional digits than the column's scale, a fraction into an
integer column, or a value that rounding pushes past the precision fails the load with the file,
column and value; exact values (trailing zeros included) load unchanged."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from data_platform.warehouse.operators import LoadToWarehouseOperator
from tests.warehouse.conftest import event, event_schema, task_context
from tests.warehouse.test_warehouse_load import merge_task
from tests.warehouse.test_warehouse_schema_drift import load_one


@pytest.mark.parametrize(
    ("value", "arrow_type", "shown"),
    [
        (Decimal("1.235"), pa.decimal128(13, 3), "'1.235'"),  # demo.events.amount is DECIMAL(12,2)
        (Decimal("-0.001"), pa.decimal128(6, 3), "'-0.001'"),  # would become 0.00
        (Decimal("9999999999.995"), pa.decimal128(14, 3), "'9999999999.995'"),  # rounds past 10 digits
        (1.234, pa.float64(), "'1.234'"),
        (0.125, pa.float32(), "'0.125'"),
    ],
)
def test_more_fractional_digits_than_the_scale_fail_with_file_column_and_value(
    warehouse, value, arrow_type, shown
):
    message = load_one(warehouse, "amount", value, arrow_type)
    assert shown in message and "demo.events.amount (numeric(12,2))" in message
    assert "Widen the column or fix the source value" in message


@pytest.mark.parametrize(
    ("value", "arrow_type"),
    [(Decimal("1.230"), pa.decimal128(13, 3)), (12.34, pa.float64()), (Decimal("-7.5"), pa.decimal128(4, 1))],
)
def test_exact_values_load_unchanged(warehouse, value, arrow_type):
    schema = event_schema().set(event_schema().get_field_index("amount"), pa.field("amount", arrow_type))
    uri = warehouse.parquet("cdc/exact.parquet", [{**event(1), "amount": value}], schema)

    merge_task([uri]).execute(task_context())

    assert warehouse.query("SELECT amount FROM demo.events") == [(Decimal(str(value)).quantize(Decimal("0.01")),)]


def _append_n(warehouse, value, arrow_type):
    uri = warehouse.parquet(
        "x/n.parquet", [{"id": 1, "n": value}], pa.schema([("id", pa.int64()), ("n", arrow_type)])
    )
    LoadToWarehouseOperator(task_id="load", table="demo.small", source_uris=[uri], create_table=False, mode="append").execute(
        task_context()
    )


def test_a_fraction_into_an_integer_column_fails_and_a_whole_number_loads(warehouse):
    warehouse.execute("CREATE SCHEMA demo; CREATE TABLE demo.small (id BIGINT, n INTEGER)")
    with pytest.raises(ValueError, match=r"column 'n': value '2.50' does not fit demo.small.n \(integer\)"):
        _append_n(warehouse, Decimal("2.50"), pa.decimal128(10, 2))
    with pytest.raises(ValueError, match=r"column 'n': value '2.5' does not fit demo.small.n"):
        _append_n(warehouse, 2.5, pa.float64())

    _append_n(warehouse, Decimal("3.00"), pa.decimal128(10, 2))

    assert warehouse.query("SELECT n FROM demo.small") == [(3,)]
