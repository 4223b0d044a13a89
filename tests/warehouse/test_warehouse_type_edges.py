"""Values at the edges of their types round-trip exactly through the warehouse load (issue 11,
item 12): the lake's change sets with dates before 1582 and at 9999-12-31, decimal and integer limits."""

from __future__ import annotations

from data_platform.warehouse.operators import LoadToWarehouseOperator
from tests.spark_jobs.cdc.test_cdc_type_edges import EDGE_ROWS, edge_schema
from tests.warehouse.conftest import task_context


def test_values_at_type_edges_round_trip_through_the_warehouse(warehouse):
    warehouse.execute(
        "CREATE SCHEMA demo; CREATE TABLE demo.edges (id BIGINT PRIMARY KEY, d DATE, ts TIMESTAMP, "
        "amount DECIMAL(38,6), big BIGINT, small INTEGER, seq BIGINT)"
    )
    uri = warehouse.parquet("cdc/edges/f1.parquet", EDGE_ROWS, schema=edge_schema())

    merge = {"mode": "merge", "primary_key": ["id"], "delete_column": "op", "order_by": ["seq"]}
    LoadToWarehouseOperator(task_id="load_edges", table="demo.edges", source_uris=[uri], create_table=False, **merge).execute(
        task_context()
    )

    stored = warehouse.query("SELECT id, d, ts, amount, big, small, seq FROM demo.edges ORDER BY id")
    assert stored == [
        tuple(row[k] for k in ("id", "d", "ts", "amount", "big", "small", "seq")) for row in EDGE_ROWS
    ]
