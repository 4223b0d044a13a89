"""JSON log lines for the jobs (one object per line on stderr).

Structured fields go in ``extra={"fields": {...}}`` or through :func:`log_event`; EMR
Serverless and pod logs are then searchable by table, run id and counts.

The line format is a contract with the Datadog log shipper (``spark_jobs.datadog_logs.parser``),
which reads it back without loss: one JSON object per line with the reserved keys
:data:`RESERVED_KEYS` (``ts`` ISO 8601 UTC with milliseconds, ``level``, ``logger``, ``thread``,
``message``, optional ``exception``: the formatted traceback, newlines escaped so the record stays
on one line) and the structured fields as top-level keys. A field whose name collides with a
reserved key is kept under ``fields`` instead of overwriting it. Values that are not JSON
types are written as ``str(value)``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

RECORD_KEYS = ("ts", "level", "logger", "thread", "message")
"""The keys of every line; the Datadog shipper's parser reads the other keys as the record's fields."""
RESERVED_KEYS = (*RECORD_KEYS, "exception", "fields")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, thread, message, fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            colliding = {k: v for k, v in fields.items() if k in RESERVED_KEYS}
            payload.update((k, v) for k, v in fields.items() if k not in RESERVED_KEYS)
            if colliding:
                payload["fields"] = colliding
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_json_logging(level: str | int = "INFO", stream: TextIO | None = None) -> None:
    """Send every log record of the process as JSON to ``stream`` (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # py4j logs every JVM call at DEBUG/INFO; keep the job's own lines readable.
    logging.getLogger("py4j").setLevel(logging.WARNING)


def log_event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``message`` with structured ``fields`` (they become top-level JSON keys)."""
    logger.log(level, message, extra={"fields": fields})
