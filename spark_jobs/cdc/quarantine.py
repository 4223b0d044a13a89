"""Quarantine: evidence of bad input, kept with its reason, never silently dropped.

``<lake>/_quarantine/cdc/<db>/<table>/<run_id>/`` holds ``reason.json`` (error kind, message,
files, counts), ``files/<landing path>`` (copies of unreadable or drifted files) and
``rows/*.parquet`` (bad rows as read, with ``_cdc_file`` and ``_cdc_error``). The landing
files themselves are never moved or changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from spark_jobs.cdc.dms_files import LandedFile
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.reader import ERROR_COL, FILE_COL
from spark_jobs.cdc.results import utc_now
from spark_jobs.common.lake import copy_file, join_uri, write_json_atomic

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def rows_uri(layout: TableLayout, run_id: str) -> str:
    return join_uri(layout.quarantine_uri(run_id), "rows")


def quarantine_files(layout: TableLayout, run_id: str, files: list[LandedFile]) -> None:
    """Copy offending landing files (the originals stay where DMS put them)."""
    for file in files:
        copy_file(file.uri, join_uri(layout.quarantine_uri(run_id), "files", file.rel_path))


def write_reason(layout: TableLayout, run_id: str, error: dict[str, Any], **extra: Any) -> str:
    """Write ``reason.json``; returns the quarantine folder URI."""
    folder = layout.quarantine_uri(run_id)
    write_json_atomic(
        join_uri(folder, "reason.json"),
        {"table_id": layout.table_id, "run_id": run_id, "quarantined_at": utc_now(), **error, **extra},
    )
    return folder


def bad_row_example(bad: DataFrame, reason: str, key: Sequence[str]) -> str:
    """One row of ``bad`` (raw rows with ``_cdc_file`` / ``_cdc_error``) with ``reason``, for the
    error message: ``<file>: <column>='<value>', <key>='<value>'`` (the column the reason names,
    e.g. ``invalid_value: amount has ...``, then the primary key; the first file, smallest values)."""
    from pyspark.sql import functions as F

    named = reason.split(":", 1)[-1].split()[:1]
    columns = list(dict.fromkeys(c for c in [*named, *key] if c in bad.columns))
    found = bad.filter(bad[ERROR_COL] == reason).agg(
        F.min(F.struct(F.col(FILE_COL), *[F.col(f"`{c}`").cast("string").alias(c) for c in columns]))
    ).first()
    row = found[0] if found is not None else None
    if row is None:
        return "no example"
    return f"{row[0]}: " + ", ".join(f"{c}={row[c]!r}" for c in columns)
