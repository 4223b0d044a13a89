"""The per-table result of a merge run and the errors that fail a table's load.

A result is written as JSON to ``<lake>/_state/cdc/<db>/<table>/history/<run_id>.json`` for
every table of every run, so the orchestrator decides per table what to do downstream.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

STATUS_OK = "ok"
"""The table was written (or its already-committed result for this run id was reused)."""
STATUS_NOOP = "noop"
"""No new files: nothing written, nothing to load downstream."""
STATUS_LOCKED = "locked"
"""Another run holds the table's lock: nothing done, the files stay pending."""
STATUS_FAILED = "failed"
"""Bad input or an error: nothing written, the files stay pending; see ``error``."""

# Error kinds (result["error"]["kind"]).
UNREADABLE_FILE = "unreadable_file"
UNEXPECTED_FILE_FORMAT = "unexpected_file_format"
MISSING_COLUMN = "missing_column"
SCHEMA_DRIFT = "schema_drift"
ORDERING_COLUMN = "ordering_column"
BAD_ROWS = "bad_rows"
INTERNAL_ERROR = "internal_error"
# Row-level reasons (result["error"]["details"]["row_errors"], quarantined rows' _cdc_error).
NULL_PRIMARY_KEY = "null_primary_key"
UNKNOWN_OP = "unknown_op"
MALFORMED_ROW = "malformed_row"
INVALID_VALUE = "invalid_value"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class CdcInputError(Exception):
    """Bad input for one table: the load fails, evidence goes to quarantine, files stay pending."""

    def __init__(
        self, kind: str, message: str, files: list[str] | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.files = sorted(files or [])
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "files": self.files, "details": self.details}


@dataclass
class TableResult:
    """Outcome of one table in one run (the result JSON)."""

    table_id: str
    run_id: str
    status: str
    started_at: str
    finished_at: str | None = None
    sink: str | None = None
    storage_mode: str | None = None
    full_load: bool = False
    files: list[str] = field(default_factory=list)
    """Landing paths (below the table folder) processed by this run, or left pending on failure."""
    changes_read: dict[str, int] = field(default_factory=dict)
    """Valid change rows read, by source operation (I/U/D)."""
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    rows_before: int | None = None
    rows_after: int | None = None
    version: int | None = None
    table_uri: str | None = None
    changes_uri: str | None = None
    schema_changes: dict[str, Any] = field(default_factory=dict)
    quarantined_rows: int = 0
    quarantine_uri: str | None = None
    ignored_files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    reused: bool = False
    """True when this run id had already committed the table and its stored result is returned."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
