"""Loads give the same wall-clock values whatever the session / server TimeZone (issue 11, item 5)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from data_platform.warehouse.operators import LoadToWarehouseOperator
from tests.warehouse.conftest import task_context

MOMENT = datetime(2023, 11, 8, 1, 20, 11, 373333)
SCHEMA = pa.schema(
    [("id", pa.int64()), ("aware", pa.timestamp("us", tz="UTC")), ("naive", pa.timestamp("us"))]
)


@pytest.fixture
def new_york_server(warehouse):
    """The warehouse database's default TimeZone is America/New_York (every new session gets it)."""
    warehouse.execute("ALTER DATABASE warehouse SET timezone = 'America/New_York'")
    warehouse.execute(
        "CREATE SCHEMA demo; CREATE TABLE demo.moments (id BIGINT, aware_as_ts TIMESTAMP, "
        "aware TIMESTAMPTZ, naive TIMESTAMP, naive_as_tstz TIMESTAMPTZ)"
    )
    yield warehouse
    warehouse.execute("ALTER DATABASE warehouse RESET timezone")


def test_a_utc_lake_timestamp_keeps_its_wall_clock_value_in_a_new_york_session(new_york_server):
    rows = [{"id": 1, "aware": MOMENT.replace(tzinfo=UTC), "naive": MOMENT}]
    # the same values under the target's names: the file's aware timestamp goes into a TIMESTAMP
    # column and its naive one into a TIMESTAMPTZ column, and straight across
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    table = table.append_column("aware_as_ts", table["aware"]).append_column("naive_as_tstz", table["naive"])
    uri = new_york_server.parquet("tz/f1.parquet", table.to_pylist(), table.schema)
    assert new_york_server.query("SHOW timezone") == [("America/New_York",)]

    LoadToWarehouseOperator(task_id="load", table="demo.moments", source_uris=[uri], create_table=False, mode="append").execute(
        task_context()
    )

    stored = new_york_server.query(
        "SELECT CAST(aware_as_ts AS TEXT), CAST(naive AS TEXT), "
        "CAST(aware AT TIME ZONE 'UTC' AS TEXT), CAST(naive_as_tstz AT TIME ZONE 'UTC' AS TEXT) "
        "FROM demo.moments"
    )
    assert stored == [("2023-11-08 01:20:11.373333",) * 4]
