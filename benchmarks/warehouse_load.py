"""Warehouse load throughput on the local target, against a plain COPY of the same file.

Generates a 1M-row Parquet file of ``demo.events`` rows (the tests' fixture table), then on an
embedded PostgreSQL in a temporary folder measures:

- the floor: the Parquet file streamed into an unindexed table with one ``COPY FROM STDIN``
  (no staging, no merge), straight through psycopg;
- ``LoadToWarehouseOperator`` merge into the empty table (staging COPY + set-based insert),
  after a small load, then emptied (the process's one-time imports, reported apart);
- ``LoadToWarehouseOperator`` merge of a change file touching every key (99% updates, 1% CDC deletes).

Run: ``python -m benchmarks.warehouse_load [rows]`` (default 1,000,000).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

DEFAULT_ROWS = 1_000_000
TABLE = "demo.events"  # its DDL: the tests' fixture include folder
# A first load in a process pays one-time imports (Airflow, the OpenLineage provider's SQL parser)
# and the connection: a small load first (the table is emptied after it) keeps them out of the figures.
WARM_UP_ROWS = 1_000


def _events(rows: int, op: str, seq: int) -> Any:
    """``rows`` events with ids 1..rows; ``op`` 'U' marks every 100th row as a delete ('D')."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seq)
    ids = np.arange(1, rows + 1, dtype=np.int64)
    ops = np.full(rows, op, dtype=object)
    if op == "U":
        ops[::100] = "D"
    moments = np.datetime64("2024-01-01T00:00:00", "us") + (ids * 1_000_000 // 12)
    return pa.table(
        {
            "op": pa.array(ops, pa.string()),
            "event_id": pa.array(ids),
            "user_id": pa.array([f"u{i % 50_000}" for i in range(rows)], pa.string()),
            "event_type": pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, 3, rows), pa.int8()), pa.array(["view", "click", "purchase"])
            ),
            "amount": pa.array(rng.integers(0, 100_000, rows), pa.int32()).cast(pa.decimal128(12, 2)),
            "event_ts": pa.array(moments, pa.timestamp("us")),
            "event_date": pa.array(moments.astype("datetime64[D]"), pa.date32()),
            "updated_at": pa.array(moments + seq, pa.timestamp("us")),
            "seq": pa.array(np.full(rows, seq, dtype=np.int64)),
        }
    )


def _plain_copy(socket_dir: str, parquet_path: Path) -> tuple[float, int]:
    """The floor: Parquet -> CSV -> one COPY into a table without keys, one transaction."""
    import io

    import psycopg
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    parquet = pq.ParquetFile(parquet_path)
    names = parquet.schema_arrow.names
    rows = 0
    with psycopg.connect(host=socket_dir, user="postgres", dbname="warehouse") as conn:
        conn.execute("DROP TABLE IF EXISTS bench_floor")
        conn.execute(
            "CREATE TABLE bench_floor (op TEXT, event_id BIGINT, user_id TEXT, event_type TEXT, "
            "amount NUMERIC(12,2), event_ts TIMESTAMP, event_date DATE, updated_at TIMESTAMP, seq BIGINT)"
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy(
            f"COPY bench_floor ({', '.join(names)}) FROM STDIN WITH (FORMAT csv)"
        ) as copy:
            for batch in parquet.iter_batches(batch_size=64 * 1024):
                rows += batch.num_rows
                buffer = io.BytesIO()
                pacsv.write_csv(batch, buffer, options)
                copy.write(buffer.getvalue())
        conn.commit()
        return time.perf_counter() - started, rows


def _load(uri: str, run_id: str) -> tuple[float, dict[str, Any]]:
    from data_platform.warehouse.operators import LoadToWarehouseOperator

    task = LoadToWarehouseOperator(
        task_id="load_events",
        table=TABLE,
        source_uris=[uri],
        mode="merge",
        primary_key=["event_id"],
        delete_column="op",
        mark_processed=False,
    )
    context = {"ti": SimpleNamespace(dag_id="bench", task_id="load_events", run_id=run_id)}
    started = time.perf_counter()
    metrics = task.execute(context)
    return time.perf_counter() - started, metrics


def _empty(socket_dir: str) -> None:
    """Empty the table and the load log after the warm-up load."""
    import psycopg

    with psycopg.connect(host=socket_dir, user="postgres", dbname="warehouse") as conn:
        conn.execute(f"TRUNCATE {TABLE}, dp_audit.load_log")


def _line(label: str, seconds: float, rows: int, floor_rate: float) -> str:
    rate = rows / seconds
    return f"  {label:<44} {seconds:7.2f} s {rate:>12,.0f} rows/s   {floor_rate / rate:5.2f}x floor time"


def main(argv: list[str] | None = None) -> None:
    rows = int(argv[0]) if argv else DEFAULT_ROWS
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-warehouse-") as tmp:
            _in_temp_dir(rows, Path(tmp))
    finally:  # the runner may call other benchmarks in this process
        os.environ.clear()
        os.environ.update(saved)


def _in_temp_dir(rows: int, root: Path) -> None:
    os.environ.update(
        {
            "PIPELINE_TARGET": "local",
            "PLATFORM_LOCAL_DIR": str(root / "local"),
            "AIRFLOW_HOME": os.environ.get("AIRFLOW_HOME", str(root / "airflow")),
        }
    )
    os.environ.pop("PIPELINE_ENV", None)
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")  # figures only
    from data_platform.local.postgres import ensure_local_postgres, stop_local_postgres
    from data_platform.paths import INCLUDE_PATH_ENV_VAR, REPO_ROOT

    fixtures = REPO_ROOT / "tests" / "fixtures" / "include"
    os.environ[INCLUDE_PATH_ENV_VAR] = os.pathsep.join([str(fixtures), str(REPO_ROOT / "include")])

    postgres = ensure_local_postgres(root / "postgres", databases=("warehouse",))
    os.environ["AIRFLOW_CONN_WAREHOUSE"] = postgres.airflow_connection_json("warehouse")
    try:
        _run(rows, str(postgres.socket_dir))
    finally:
        stop_local_postgres(root / "postgres")


def _run(rows: int, socket_dir: str) -> None:
    import pyarrow.parquet as pq

    from data_platform.lake import storage
    from data_platform.settings import get_settings

    lake = get_settings().lake_root
    initial_uri = storage.join(lake, "bench", "events", "initial.parquet")
    changes_uri = storage.join(lake, "bench", "events", "changes.parquet")
    warm_up_uri = storage.join(lake, "bench", "events", "warm_up.parquet")
    files = (
        (initial_uri, _events(rows, "I", 1)),
        (changes_uri, _events(rows, "U", 2)),
        (warm_up_uri, _events(WARM_UP_ROWS, "I", 3)),
    )
    for uri, table in files:
        path = Path(uri.removeprefix("file://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
    initial_path = Path(initial_uri.removeprefix("file://"))

    floor_seconds, floor_rows = _plain_copy(socket_dir, initial_path)
    floor_rate = floor_rows / floor_seconds
    warm_up_seconds, _ = _load(warm_up_uri, "bench__0")
    _empty(socket_dir)
    insert_seconds, inserted = _load(initial_uri, "bench__1")
    merge_seconds, merged = _load(changes_uri, "bench__2")

    print(
        f"warehouse_load: {rows:,} rows ({initial_path.stat().st_size / 1e6:.1f} MB Parquet), "
        "embedded PostgreSQL, local target"
    )
    print(
        f"  (first load of the process, {WARM_UP_ROWS:,} rows, then emptied: {warm_up_seconds:.2f} s, "
        "one-time imports and connection; not in the figures below)"
    )
    print(_line("plain COPY of the same file (floor)", floor_seconds, floor_rows, floor_rate))
    print(
        _line(
            "LoadToWarehouseOperator merge, empty table (inserts)",
            insert_seconds,
            inserted["rows_in"],
            floor_rate,
        )
    )
    print(
        _line(
            "LoadToWarehouseOperator merge, every key changed", merge_seconds, merged["rows_in"], floor_rate
        )
    )
    print(
        f"  change merge: {merged['rows_updated']:,} updated, {merged['rows_deleted']:,} deleted, "
        f"{merged['rows_inserted']:,} inserted"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
