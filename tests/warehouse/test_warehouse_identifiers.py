"""Any column a source can have loads and is checked (issue 11, item 4): reserved words, mixed case,
spaces and quotes in names are quoted by the dialect's rules in staging DDL, COPY, merge, append
and the data-quality checks."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from data_platform.warehouse import merge
from data_platform.warehouse.operators import CheckWarehouseTableOperator, LoadToWarehouseOperator
from data_platform.warehouse.staging import StagingColumn, create_stage_sql
from data_platform.warehouse.tables import TableName
from tests.warehouse.conftest import task_context

SCHEMA = pa.schema(
    [
        ("Op", pa.string()),
        ("id", pa.int64()),
        ("group", pa.string()),
        ("user", pa.string()),
        ("Order Date", pa.date32()),
        ('say "hi"', pa.string()),
        ("amount", pa.decimal128(12, 2)),
    ]
)
DDL = '''
CREATE SCHEMA demo;
CREATE TABLE demo.accounts (
    id BIGINT NOT NULL, "group" TEXT, "user" TEXT, "order date" DATE, "say ""hi""" TEXT,
    amount DECIMAL(12,2)
)
'''


def row(i: int, op: str = "I", group: str = "g") -> dict:
    return {
        "Op": op,
        "id": i,
        "group": group,
        "user": f"u{i}",
        "Order Date": None,
        'say "hi"': "x",
        "amount": Decimal("1.00"),
    }


@pytest.fixture
def accounts(warehouse):
    warehouse.execute(DDL)
    return warehouse


@pytest.mark.parametrize("mode", ["merge", "append"])
def test_reserved_and_unusual_column_names_load(accounts, mode):
    first = accounts.parquet("x/f1.parquet", [row(1), row(2)], SCHEMA)
    second = accounts.parquet("x/f2.parquet", [row(1, "U", group="changed"), row(3)], SCHEMA)
    keys = {"primary_key": ["id"], "delete_column": "op"} if mode == "merge" else {"new_columns": "add"}
    for uri in (first, second):
        LoadToWarehouseOperator(task_id="load", table="demo.accounts", source_uris=[uri], create_table=False, mode=mode, **keys).execute(
            task_context()
        )
    stored = accounts.query(
        'SELECT id, "group", "user", "say ""hi""" FROM demo.accounts ORDER BY id, "group"'
    )
    if mode == "merge":
        assert stored == [(1, "changed", "u1", "x"), (2, "g", "u2", "x"), (3, "g", "u3", "x")]
    else:
        assert [r[:2] for r in stored] == [(1, "changed"), (1, "g"), (2, "g"), (3, "g")]


def test_checks_quote_column_names(accounts):
    uri = accounts.parquet("x/f1.parquet", [row(1), row(2)], SCHEMA)
    LoadToWarehouseOperator(
        task_id="load", table="demo.accounts", source_uris=[uri], create_table=False, mode="append", new_columns="add"
    ).execute(task_context())
    rules = {
        "rules": [
            {"type": "primary_key", "columns": ["id", "group"]},
            {"type": "not_null", "columns": ["user", "group"]},
            {"type": "accepted_values", "column": "group", "values": ["g"]},
            {"type": "range", "column": "amount", "min": 0},
        ]
    }
    summary = CheckWarehouseTableOperator(task_id="check", table="demo.accounts", rules=rules).execute(task_context())
    assert summary["checks_failed"] == [] and summary["checks_total"] == 5


@pytest.mark.parametrize("dialect", ["postgres", "redshift"])
def test_every_statement_quotes_names_in_both_dialects(dialect):
    table = TableName("demo", "accounts")
    types = {"id": "BIGINT", "group": "TEXT", "user": "TEXT"}
    columns = [StagingColumn("group", "group", "TEXT"), StagingColumn("user", "user", "TEXT")]
    statements = [
        create_stage_sql("stage_accounts", columns, dialect),
        merge.lock_sql(table, dialect),
        merge.staged_rows_sql("stage_accounts", ["group"], dialect),
        merge.staged_rows_sql("stage_accounts", ["group", "user"], dialect),
        merge.latest_per_key_sql(
            "stage_accounts", "net", ["id", "group"], ["group"], ["user"], types, dialect
        ),
        *(
            sql
            for sql, _ in merge.merge_statements(
                table, "s", ["group"], ["group", "user"], types, "user", "D", ["id"], dialect
            ).values()
        ),
        merge.append_statement(table, "stage_accounts", ["group", "user"], types, dialect)[0],
        merge.delete_partition_statement(table, "group", "a", types, dialect)[0],
    ]
    for sql in statements:
        bare = sql.replace('"group"', "").replace('"user"', "")
        assert " group" not in bare and " user" not in bare and "(group" not in bare, sql
