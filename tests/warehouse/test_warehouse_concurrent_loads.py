"""Two loads at once on a warehouse where neither the schema nor the table exists yet (a
backfill's parallel runs): the second waits for the first's DDL instead of failing on the
catalog (PostgreSQL: duplicate key on pg_namespace when both run CREATE SCHEMA IF NOT EXISTS)."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg

from data_platform.lake.storage import LakeFile
from data_platform.warehouse.loader import LoadSpec, RunInfo, WarehouseLoader
from data_platform.warehouse.tables import TableName
from tests.warehouse.conftest import event

SPEC = LoadSpec(table=TableName("demo", "events"), primary_key=("event_id",), delete_column="op")
WAIT_LIMIT_S = 60.0  # a guard against a hung test only: the waits below end on a state, not a time


class PausingConnection:
    """A psycopg connection whose first commit waits until the test releases it: the
    transaction stays open (its locks held) while another load runs."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection
        self.paused = threading.Event()
        self.release = threading.Event()

    def cursor(self) -> Any:
        return self.connection.cursor()

    def commit(self) -> None:
        if not self.paused.is_set():
            self.paused.set()
            assert self.release.wait(WAIT_LIMIT_S), "the test never released the first load"
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _waiting_on_a_lock(warehouse, pid: int) -> bool:
    rows = warehouse.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,))
    return rows == [("Lock",)]


def test_a_load_waits_for_a_concurrent_loads_ddl_instead_of_failing(warehouse):
    files = [LakeFile(uri=warehouse.parquet(f"cdc/events/f{n}.parquet", [event(n)]), size=0) for n in (1, 2)]

    def connect() -> psycopg.Connection:
        return psycopg.connect(host=warehouse.socket_dir, user="postgres", dbname="warehouse")

    first = PausingConnection(connect())
    second = connect()
    errors: dict[str, psycopg.Error] = {}

    def load(name: str, connection: Any, lake_file: LakeFile) -> None:
        try:
            WarehouseLoader(connection, "postgres").load(SPEC, [lake_file], RunInfo("dag", name, name))
        except psycopg.Error as error:  # reported by the assertions below
            errors[name] = error

    threads = [
        threading.Thread(target=load, args=("first", first, files[0])),
        threading.Thread(target=load, args=("second", second, files[1])),
    ]
    try:
        threads[0].start()
        # the first load has run its CREATE SCHEMA / TABLE and holds its transaction open
        assert first.paused.wait(WAIT_LIMIT_S), "the first load never reached its commit"
        threads[1].start()
        _wait_for(
            lambda: _waiting_on_a_lock(warehouse, second.info.backend_pid),
            "the second load to wait on a lock",
        )
        first.release.set()
        for thread in threads:
            thread.join(WAIT_LIMIT_S)
    finally:
        first.release.set()
        first.connection.close()
        second.close()

    assert errors == {}
    assert warehouse.query("SELECT event_id FROM demo.events ORDER BY 1") == [(1,), (2,)]
    assert warehouse.query("SELECT COUNT(*) FROM dp_audit.load_log WHERE target_table = 'demo.events'") == [
        (2,)
    ]
