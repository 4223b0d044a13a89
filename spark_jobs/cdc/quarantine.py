"""Quarantine: evidence of bad input, kept with its reason, never silently dropped.

``<lake>/_quarantine/cdc/<db>/<table>/<run_id>/`` holds ``reason.json`` (error kind, message,
files, counts), ``files/<landing path>`` (copies of unreadable or drifted files) and
``rows/*.parquet`` (bad rows as read, with ``_cdc_file`` and ``_cdc_error``). The landing
files themselves are never moved or changed.
"""

from __future__ import annotations

from typing import Any

from spark_jobs.cdc.dms_files import LandedFile
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.results import utc_now
from spark_jobs.common.lake import copy_file, join_uri, write_json_atomic


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
