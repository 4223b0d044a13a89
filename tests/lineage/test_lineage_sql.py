"""Column lineage of the warehouse SQL of include/ (procedures) and of the loader's merges."""

from __future__ import annotations

import pytest

from data_platform.lineage.sql import (
    SqlColumnEdge,
    procedure_edges,
    statement_edges,
    table_columns,
    warehouse_sql_edges,
)
from data_platform.paths import include_files
from data_platform.warehouse.merge import append_statement, merge_statements
from data_platform.warehouse.tables import TableName


def _schema() -> dict:
    return table_columns(include_files("warehouse/tables", "*.sql").values())


def test_every_procedure_of_the_include_path_gives_column_lineage() -> None:
    procedures = include_files("warehouse/procedures", "*.sql")
    assert procedures
    for path in procedures.values():
        assert procedure_edges(path, _schema()), path


def test_procedure_edges_of_the_daily_rollup() -> None:
    edges = procedure_edges(
        include_files("warehouse/procedures", "*.sql")["demo.load_events_daily.sql"], _schema()
    )
    direct = {(e.source_column, e.target_column, e.subtype) for e in edges if e.transformation == "DIRECT"}
    assert direct == {
        ("event_date", "event_date", "IDENTITY"),
        ("event_type", "purchases", "AGGREGATION"),
        ("amount", "revenue", "AGGREGATION"),
    }
    indirect = {(e.source_column, e.subtype) for e in edges if e.transformation == "INDIRECT"}
    assert ("amount", "FILTER") in indirect  # WHERE NVL(amount, 0) >= min_amount
    assert ("event_date", "GROUP_BY") in indirect
    assert all(
        e.source_table == "stage_events_daily" and e.target_table == "demo.events_daily" for e in edges
    )
    assert not any(e.source_column == "min_amount" for e in edges)  # a procedure argument


def test_merge_the_loader_runs() -> None:
    types = {"order_id": "BIGINT", "status": "VARCHAR(32)", "amount": "DECIMAL(12,2)"}
    statements = merge_statements(
        TableName.parse("shop.orders"), "stage_orders", ["order_id"], list(types), types, "op", "D",
        dialect="redshift",
    )
    edges = {e for sql, _ in statements.values() for e in statement_edges(sql, {})}
    direct = {
        (e.source_table, e.source_column, e.target_column) for e in edges if e.transformation == "DIRECT"
    }
    assert direct == {("stage_orders", c, c) for c in types}
    assert SqlColumnEdge("stage_orders", "op", "shop.orders", "amount", "INDIRECT", "FILTER") in edges
    assert all(e.source_table != "shop.orders" for e in edges)


def test_append_is_identity() -> None:
    types = {"a": "INT", "b": "VARCHAR(8)"}
    sql, _ = append_statement(TableName.parse("s.t"), "stage_t", list(types), types, "redshift")
    assert statement_edges(sql, {}) == [
        SqlColumnEdge("stage_t", "a", "s.t", "a", "DIRECT", "IDENTITY"),
        SqlColumnEdge("stage_t", "b", "s.t", "b", "DIRECT", "IDENTITY"),
    ]


def test_rows_in_the_warehouse_naming() -> None:
    rows = warehouse_sql_edges("postgres://localhost:5432", "warehouse")
    assert rows
    assert {r.target_name for r in rows} == {"warehouse.demo.events_daily"}
    assert {r.job_name for r in rows} == {"warehouse.procedure.demo.load_events_daily"}


def test_a_procedure_without_body_names_the_file(tmp_path) -> None:
    path = tmp_path / "x.p.sql"
    path.write_text("CREATE PROCEDURE x.p() AS 'no body';")
    with pytest.raises(ValueError, match="x.p.sql"):
        procedure_edges(path, {})
