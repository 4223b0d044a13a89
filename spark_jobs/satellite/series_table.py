"""The point time-series table in the lake and its state.

Layout (Hive-style partitions by point and year, one Parquet file per point per day)::

    <lake>/satellite/<table>/point=<site_id>/year=<YYYY>/<YYYY-MM-DD>.parquet
    <lake>/_state/satellite/<table>/reference.json        the grid (and layout) points are mapped on
    <lake>/_state/satellite/<table>/days/<YYYY-MM-DD>.json  last extraction of a day: rows, missing
                                                            slots, bad files, output files, run id

Each file holds the warehouse columns (:data:`SCHEMA`), ``site_id`` included, so the warehouse
loads the files as they are; readers with partition discovery also get ``point`` and ``year``.
A day of a point is exactly one object, replaced by one atomic write (local ``os.replace``, one S3
PUT): a rerun of a day replaces that day's rows and nothing else, and a reader sees the old or
the new rows of a point-day, never a mix or a duplicate.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from spark_jobs.common.lake import join_uri, read_json, write_atomic, write_json_atomic

DEFAULT_TABLE = "dssf_timeseries"
SCHEMA = pa.schema(
    [
        pa.field("site_id", pa.string(), nullable=False),
        pa.field("obs_time", pa.timestamp("us"), nullable=False),  # slot start, UTC
        pa.field("obs_date", pa.date32(), nullable=False),
        pa.field("dssf_tot", pa.float64()),  # W/m2, null where the product has no value
        pa.field("fraction_diffuse", pa.float64()),  # 0-1, null where the product has no value
        pa.field("quality_flag", pa.int32()),
        pa.field("source_file", pa.string(), nullable=False),
    ]
)


def table_uri(lake_root: str, table: str = DEFAULT_TABLE) -> str:
    return join_uri(lake_root, "satellite", table)


def state_uri(lake_root: str, table: str = DEFAULT_TABLE) -> str:
    return join_uri(lake_root, "_state", "satellite", table)


def day_file_uri(lake_root: str, table: str, site_id: str, day: date) -> str:
    return join_uri(
        table_uri(lake_root, table), f"point={site_id}", f"year={day.year}", f"{day.isoformat()}.parquet"
    )


def day_result_uri(lake_root: str, table: str, day: date) -> str:
    return join_uri(state_uri(lake_root, table), "days", f"{day.isoformat()}.json")


def reference_uri(lake_root: str, table: str) -> str:
    return join_uri(state_uri(lake_root, table), "reference.json")


def write_point_day(uri: str, rows: Sequence[dict[str, Any]]) -> None:
    """Replace one point-day file atomically (an empty day is an empty file with the schema)."""
    table = pa.Table.from_pylist(list(rows), schema=SCHEMA)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    write_atomic(uri, buffer.getvalue())


def write_day_result(uri: str, document: dict[str, Any]) -> None:
    write_json_atomic(uri, document)


def read_day_result(lake_root: str, table: str, day: date) -> dict[str, Any] | None:
    """The last extraction result of ``day`` (``None`` when the day was never extracted)."""
    result = read_json(day_result_uri(lake_root, table, day))
    return result if isinstance(result, dict) else None
