"""Log records -> Datadog log entries (HTTP intake attributes), tags and the intake's size limits.

Attributes (FIELD-NOTES "Datadog logs intake"): ``ddsource``, ``ddtags`` (``k:v,k:v``),
``hostname``, ``service``, ``status``, ``message``; ``timestamp`` (milliseconds since the epoch,
a reserved attribute) and Datadog's standard attributes ``logger.name``,
``logger.thread_name``, ``error.stack``. ``emr.log_file`` / ``emr.line`` say where in which file an entry's
record starts.

- Plain and log4j records: ``message`` is the record's original text (all its lines); the parsed
  level is ``status``.
- JSON records of the jobs: ``message``, ``level``, ``ts`` as written, ``exception`` as
  ``error.stack``, fields as attributes (a field named like an entry attribute is kept under
  ``fields``), so the line can be rebuilt (:func:`json_line_of`).
- Timestamps older than the intake accepts (18 hours, "Log events can be submitted with a
  timestamp that is up to 18 hours in the past", LogsApi.submit_log) are not sent as
  ``timestamp``: the entry gets the ingestion time and keeps the original in
  ``original_timestamp`` (ISO 8601), and the shipper counts them (``late_entries``), so old
  runs (backfills) are shipped, searchable by their real time, and reported.
- Entries over :data:`MAX_ENTRY_BYTES` are split into parts, each marked ``[part k/n] `` in the
  message and with ``split.part`` / ``split.parts``: nothing is cut off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from spark_jobs.datadog_logs.layout import DRIVER, LogFile
from spark_jobs.datadog_logs.parser import (
    JSON_RESERVED,
    KIND_TRACEBACK,
    LOG4J_HEAD_MATCH,
    LogRecord,
    iso_time_ms,
    log4j_time_ms,
)

MAX_ENTRIES_PER_REQUEST = 1000
MAX_REQUEST_BYTES = 5_000_000
"""Uncompressed payload limit per request (Datadog: 5 MB; kept below 5 MiB with a margin)."""
MAX_ENTRY_BYTES = 1_000_000
"""Datadog truncates single logs over 1 MB; larger entries are split before sending."""
MAX_AGE_MS = 18 * 3600 * 1000

_encode = json.encoder.encode_basestring_ascii  # what json.dumps uses
_STATUS = {
    "TRACE": "debug",
    "DEBUG": "debug",
    "INFO": "info",
    "WARN": "warning",
    "WARNING": "warning",
    "ERROR": "error",
    "FATAL": "critical",
    "CRITICAL": "critical",
}
_STATUS_MESSAGE = {level: f'}},"status":"{status}","message":' for level, status in _STATUS.items()}
"""The JSON between an entry's ``emr.line`` and its message, by log4j level."""
TEXT_STATUS = '},"status":"info","message":'
"""The JSON between a plain record's ``emr.line`` and its message."""
_JSON_RESERVED = frozenset(JSON_RESERVED)
_ENTRY_KEYS = frozenset({"ddsource", "ddtags", "hostname", "service", "status", "message", "timestamp",
                         "level", "ts", "logger", "error", "emr", "split", "original_timestamp", "fields"})  # fmt: skip
ASCII_JSON_GROWTH = 6
"""An entry's size as ASCII JSON (how :func:`serialize` writes it and the entry limit is measured) is
at most this many times its size as UTF-8 JSON with control characters escaped: DEL (1 byte) is
written ``\\u007f``, a character beyond ASCII (2-4 bytes) as 6 or 12 bytes."""
_encode_json = msgspec.json.Encoder().encode
"""msgspec's JSON encoder (compact, UTF-8; a sixth of ``json``'s time) for the attributes of JSON
lines, whose values come from a strict JSON decoder (no NaN or infinity, which it would write as null)."""


def status_of(level: str | None, kind: str) -> str:
    """Datadog ``status`` of a record: its level, ``error`` for tracebacks, else info."""
    if level:
        return _STATUS.get(level.upper(), "info")
    return "error" if kind == KIND_TRACEBACK else "info"


def _tag_value(value: object) -> str:
    return str(value).replace(",", "_").strip()


def format_tags(tags: Mapping[str, object]) -> str:
    """``{"team": "data-eng", "env": "prod"}`` -> ``team:data-eng,env:prod`` (commas in values -> ``_``)."""
    return ",".join(
        f"{_tag_value(key)}:{_tag_value(value)}" for key, value in tags.items() if value not in (None, "")
    )


@dataclass(frozen=True)
class RunContext:
    """What every entry of a job run carries besides its record."""

    job_name: str
    service: str
    env: str | None
    team: str | None
    job_tags: Mapping[str, str]
    source: str = "spark"


def file_tags(context: RunContext, log_file: LogFile) -> dict[str, object]:
    """Tags of a file's entries: application id, job run id, job name, attempt, worker, team, env, job tags."""
    tags: dict[str, object] = {
        "application_id": log_file.run.application_id,
        "job_run_id": log_file.run.job_run_id,
        "job_name": context.job_name,
        "attempt": log_file.attempt,
        "worker_type": log_file.worker_type.lower(),
        "worker_id": log_file.worker_id,
        "log_stream": log_file.stream,
        "team": context.team,
        "env": context.env,
    }
    for key, value in context.job_tags.items():
        tags.setdefault(key, value)
    return tags


def hostname_of(log_file: LogFile) -> str:
    """EMR Serverless has no host names in its log layout: the worker, e.g. ``<jobRunId>-executor-3``."""
    if log_file.worker_type == DRIVER:
        return f"{log_file.run.job_run_id}-driver"
    return f"{log_file.run.job_run_id}-executor-{log_file.worker_id}"


class EntryBuilder:
    """Builds the entries of one file as JSON texts; ``late`` counts entries that lost their ``timestamp``.

    log4j and plain records are put together column-wise (:mod:`~spark_jobs.datadog_logs.columnar`)
    from :attr:`prefix` (the file's constant attributes, serialized once), the line number,
    :meth:`log4j_parts` and the message; JSON lines take :meth:`json_line` (one msgspec encoder
    call); the others (tracebacks, and records that may be over :data:`MAX_ENTRY_BYTES` as ASCII
    JSON) :meth:`entry`, a dict for :meth:`serialized` (``json``, ASCII, split when too large).
    Every entry's JSON starts with :attr:`prefix` and the line number, and the column-wise JSON
    and :meth:`entry` hold the same object for the same record.
    """

    def __init__(self, context: RunContext, log_file: LogFile, now_ms: int) -> None:
        self.log_file = log_file
        self.path = log_file.relative_path
        self.oldest_ms = now_ms - MAX_AGE_MS
        self.base: dict[str, Any] = {
            "ddsource": context.source,
            "ddtags": format_tags(file_tags(context, log_file)),
            "hostname": hostname_of(log_file),
            "service": context.service,
        }
        self.late = 0
        self.prefix = "{" + "".join(f"{_encode(k)}:{_encode(v)}," for k, v in self.base.items())
        self.prefix += '"emr":{"log_file":' + _encode(self.path) + ',"line":'
        """Every entry's JSON up to its ``emr.line``: the file's constant attributes."""

    def log4j_parts(self, heads: list[str]) -> tuple[list[str], list[str], list[bool]]:
        """For each distinct log4j head (``time level [thread] logger: ``): the JSON of its entries
        between ``emr.line`` and the message, after the message (status, timestamp, logger), and
        whether its time is older than the intake accepts (the caller adds the records it builds
        from such a head to :attr:`late`: the others take :meth:`entry`, which counts them)."""
        befores, afters, late = [], [], []
        for head in heads:
            match = LOG4J_HEAD_MATCH(head)
            if match is None:
                raise ValueError(f"not a log4j head: {head!r}")
            time, thread1, level, thread2, logger = match.group(
                "time", "thread1", "level", "thread2", "logger"
            )
            time_ms = log4j_time_ms(time)
            late.append(time_ms is not None and time_ms < self.oldest_ms)
            if time_ms is None:  # not a calendar time: no timestamp (the intake's time), the text keeps it
                stamp = ""
            elif late[-1]:
                stamp = f',"original_timestamp":"{_iso_ms(time_ms)}"'
            else:
                stamp = f',"timestamp":{time_ms}'
            thread = thread1 or thread2  # "[]" (empty) is no thread, as for the parser
            names = ',"logger":{"name":' + _encode(logger)
            names += (',"thread_name":' + _encode(thread) + "}") if thread else "}"
            befores.append(_STATUS_MESSAGE[level])
            afters.append(stamp + names + "}")
        return befores, afters, late

    def entry(self, record: LogRecord) -> dict[str, Any]:
        """The entry of a log4j, plain or traceback record as a dict."""
        entry = dict(self.base)
        entry["emr"] = {"log_file": self.path, "line": record.line}  # serialized, it starts as :attr:`prefix`
        entry["status"] = _STATUS.get(record.level, "info") if record.level else status_of(None, record.kind)
        entry["message"] = record.message
        self._add_time(entry, record.timestamp_ms)
        if record.logger is not None:
            logger = {"name": record.logger}
            if record.thread is not None:
                logger["thread_name"] = record.thread
            entry["logger"] = logger
        return entry

    def json_line(self, obj: dict[str, Any], line: int) -> list[str]:
        """The entry of a JSON line of the jobs (``obj``: the line's object, ``line``: its number) as
        JSON, the file's constant attributes not serialized again; over :data:`MAX_ENTRY_BYTES`: its parts."""
        made = self.json_line_rest(obj, line)
        return [f"{self.prefix}{line}{made}"] if isinstance(made, str) else made

    def json_line_rest(self, obj: dict[str, Any], line: int) -> str | list[str]:
        """:meth:`json_line`'s entry after :attr:`prefix` and the line number (what the column-wise
        path adds to them), or its parts (whole entries) when it is over :data:`MAX_ENTRY_BYTES`."""
        attributes = self._json_attributes(obj)
        try:
            body = _encode_json(attributes)
        except UnicodeEncodeError:  # a lone surrogate (escaped in the line): ASCII JSON escapes it
            body = serialize(attributes).encode()
        room = MAX_ENTRY_BYTES - len(self.prefix) - 20  # 20: the line number and "},"
        # measured as ASCII JSON, as every other entry, so that no intake counting either way finds
        # it over the limit
        if len(body) <= room and (
            (body.isascii() and b"\x7f" not in body)  # printable ASCII: the same bytes either way
            or ASCII_JSON_GROWTH * len(body) <= room
            or len(serialize(attributes)) <= room
        ):
            return "}," + body[1:].decode()
        return self.serialized({**self.base, "emr": {"log_file": self.path, "line": line}, **attributes})

    def _json_attributes(self, obj: dict[str, Any]) -> dict[str, Any]:
        level = str(obj["level"])
        entry: dict[str, Any] = {"status": _STATUS.get(level, "info") if level else "info"}
        entry["message"] = obj["message"]
        ts = obj.get("ts")
        self._add_time(entry, iso_time_ms(ts))
        logger = {}
        if obj.get("logger") is not None:
            logger["name"] = str(obj["logger"])
        if obj.get("thread") is not None:  # a thread without a logger is kept too
            logger["thread_name"] = str(obj["thread"])
        if logger:
            entry["logger"] = logger
        entry["level"] = level
        entry["ts"] = ts
        kept_apart = {}
        for key, value in obj.items():
            if key in _JSON_RESERVED:
                continue
            if key == "exception":
                entry["error"] = {"stack": value}
            elif key in _ENTRY_KEYS:
                kept_apart[key] = value
            else:
                entry[key] = value
        if kept_apart:
            entry["fields"] = kept_apart
        return entry

    def _add_time(self, entry: dict[str, Any], time_ms: int | None) -> None:
        if time_ms is None:
            return
        if time_ms >= self.oldest_ms:
            entry["timestamp"] = time_ms
        else:
            self.late += 1
            entry["original_timestamp"] = _iso_ms(time_ms)

    def serialized(self, entry: dict[str, Any]) -> list[str]:
        """``entry`` as JSON, or its marked parts when over :data:`MAX_ENTRY_BYTES`."""
        text = serialize(entry)
        if len(text) <= MAX_ENTRY_BYTES:
            return [text]
        return [serialize(part) for part in split_entry(entry)]


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_iterencode = (
    None
    if _c_make_encoder is None
    # what _ENCODER.encode builds on every call, built once (markers None: entries have no cycles)
    else _c_make_encoder(None, _ENCODER.default, _encode, None, ":", ",", False, False, False)
)


def serialize(entry: Mapping[str, Any]) -> str:
    """An entry as compact ASCII JSON (what the request body holds): ``_ENCODER.encode(entry)``.

    :raises ValueError: for NaN or infinite numbers (not JSON: the intake would refuse the request).
    """
    if _iterencode is None:
        return _ENCODER.encode(entry)
    return "".join(_iterencode(entry, 0))


def _iso_ms(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, UTC).isoformat(timespec="milliseconds")


def split_entry(entry: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Parts of an oversize entry: the message cut on character boundaries, each part marked."""
    message: str = entry["message"]
    shell = {k: v for k, v in entry.items() if k != "message"}
    if isinstance(shell.get("error"), dict):  # a huge stack trace: it goes in the message parts too
        stack = shell.pop("error")["stack"]
        message = f"{message}\n{stack}"
    shell_bytes = len(json.dumps(shell)) + 64  # + the "message" key and the part marker
    budget = MAX_ENTRY_BYTES - shell_bytes
    if budget < 1024:
        raise ValueError(f"entry attributes alone exceed {MAX_ENTRY_BYTES} bytes: {list(shell)}")
    chunks: list[str] = []
    position = 0
    while position < len(message):
        take = budget - 2
        while (encoded := len(_encode(message[position : position + take]))) > budget:
            take = max(1, take * budget // encoded - 1)  # escapes made it longer: shrink in proportion
        chunks.append(message[position : position + take])
        position += take
    for index, chunk in enumerate(chunks, start=1):
        yield {
            **shell,
            "message": f"[part {index}/{len(chunks)}] {chunk}",
            "split": {"part": index, "parts": len(chunks)},
        }


def json_line_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The job's JSON log object an entry was built from (inverse of the JSON-record mapping).

    ``ts``, ``logger`` and ``thread`` absent from the line come back absent (None values dropped).
    """
    logger = entry.get("logger") or {}
    obj: dict[str, Any] = {
        "ts": entry.get("ts") if "ts" in entry else entry.get("original_timestamp"),
        "level": entry["level"],
        "logger": logger.get("name"),
        "thread": logger.get("thread_name"),
        "message": entry["message"],
    }
    obj = {k: v for k, v in obj.items() if v is not None}
    for key, value in entry.items():
        if key not in _ENTRY_KEYS:
            obj[key] = value
    obj.update(entry.get("fields") or {})
    if isinstance(entry.get("error"), dict):
        obj["exception"] = entry["error"]["stack"]
    return obj
