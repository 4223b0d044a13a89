"""Fixtures of the warehouse tests: a clean warehouse database, a local lake, Parquet files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from data_platform.lake import storage
from tests.lake.moto_s3 import aws_lake  # noqa: F401 - fixture

TEST_SCHEMAS = ("demo", "dp_audit", "dq_test")
INTERVAL_END = datetime(2024, 1, 2, tzinfo=UTC)


@dataclass
class Warehouse:
    """Direct SQL access to the test warehouse, and a lake to put Parquet files in."""

    socket_dir: str
    lake_root: str

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(host=self.socket_dir, user="postgres", dbname="warehouse") as conn:
            cursor = conn.execute(sql, params or None)
            return cursor.fetchall() if cursor.description else []

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host=self.socket_dir, user="postgres", dbname="warehouse", autocommit=True
        ) as conn:
            conn.execute(sql)

    def parquet(self, relative: str, rows: list[dict[str, Any]], schema: Any = None) -> str:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows, schema=schema or event_schema())
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        return storage.write_bytes(storage.join(self.lake_root, relative), sink.getvalue().to_pybytes())


def event_schema(with_op: bool = True):
    import pyarrow as pa

    fields = [
        ("event_id", pa.int64()),
        ("user_id", pa.string()),
        ("event_type", pa.string()),
        ("amount", pa.decimal128(12, 2)),
        ("event_ts", pa.timestamp("us")),
        ("event_date", pa.date32()),
        ("updated_at", pa.timestamp("us")),
        ("seq", pa.int64()),
    ]
    if with_op:
        fields.insert(0, ("Op", pa.string()))
    return pa.schema(fields)


def event(
    event_id: int,
    *,
    op: str | None = "I",
    seq: int = 1,
    event_type: str = "view",
    amount: str | None = "1.50",
    day: int = 1,
    user_id: str | None = None,
) -> dict[str, Any]:
    moment = datetime(2024, 1, day, 12, 0, event_id % 60)
    return {
        "Op": op,
        "event_id": event_id,
        "user_id": user_id if user_id is not None else f"u{event_id}",
        "event_type": event_type,
        "amount": None if amount is None else Decimal(amount),
        "event_ts": moment,
        "event_date": date(2024, 1, day),
        "updated_at": moment,
        "seq": seq,
    }


def task_context(
    task_id: str = "task", dag_id: str = "events_dag", run_id: str = "manual__1"
) -> dict[str, Any]:
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(
        dag_id=dag_id,
        task_id=task_id,
        run_id=run_id,
        pushed=pushed,
        xcom_push=lambda key, value: pushed.__setitem__(key, value),
    )
    return {
        "ti": ti,
        "data_interval_start": INTERVAL_END - timedelta(days=1),
        "data_interval_end": INTERVAL_END,
        "logical_date": INTERVAL_END,
    }


@pytest.fixture
def warehouse(warehouse_conn_id, local_postgres, local_dir) -> Iterator[Warehouse]:
    from data_platform.settings import get_settings

    wh = Warehouse(socket_dir=str(local_postgres.socket_dir), lake_root=get_settings().lake_root)
    wh.execute("".join(f"DROP SCHEMA IF EXISTS {s} CASCADE;" for s in TEST_SCHEMAS))
    yield wh
