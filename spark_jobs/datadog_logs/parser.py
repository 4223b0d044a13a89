"""Log lines of Spark workers -> log records (one record per event, stack traces kept whole).

A record starts with

- a log4j line: ``24/11/30 15:52:05 INFO SparkContext: msg`` (Spark's default pattern
  ``%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m``) or ``2026-11-30 15:52:05,123 WARN [thread] logger: msg``
  (ISO date, optional ``[thread]`` before or after the level). log4j times carry no zone: EMR
  Serverless workers run in UTC, so they are read as UTC;
- a JSON line of the project's jobs (``spark_jobs.common.logs``): ``ts``, ``level``, ``logger``,
  ``thread``, ``message``, ``exception`` and the structured fields, read back without loss;
- ``Traceback (most recent call last):`` (an uncaught Python exception);
- any other line (``print`` output, JVM messages) as a plain record.

Continuation lines join the open record: indented lines (``\\tat ...``, ``  File ...``), blank
lines, ``Caused by:`` / ``: `` lines, the exception line that closes a Python traceback, the
chained-exception sentences, and a Java exception class line right after a log4j or plain
record (``java.lang.RuntimeException: boom``). Bytes that are not UTF-8 become U+FFFD: every line
is kept. Offsets are byte offsets in the decompressed file, so a checkpoint can resume after the
last shipped record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from spark_jobs.common.logs import RECORD_KEYS as JSON_RESERVED

KIND_LOG4J = "log4j"
KIND_JSON = "json"
KIND_TRACEBACK = "traceback"
KIND_TEXT = "text"

_LOG4J = re.compile(
    r"(?P<time>\d\d/\d\d/\d\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d{1,6})?)"
    r"(?:Z|[+-]\d\d:?\d\d)? +(?:\[(?P<thread1>[^\]]*)\] +)?"
    r"(?P<level>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL) +(?:\[(?P<thread2>[^\]]*)\] +)?"
    r"(?P<logger>[^\s:\[][^\s:]*): ?"
)
_JAVA_EXCEPTION = re.compile(r"(?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)[\w$]*(?::|$)")
_TRACEBACK = "Traceback (most recent call last):"
_CHAIN_SENTENCES = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)


@dataclass(slots=True)
class LogRecord:
    """One log event of a file; ``text`` is its original lines joined with ``\\n``."""

    line: int
    """1-based number of the record's first line in the file."""
    lines: int
    start: int
    """Byte offset of the first line in the decompressed file."""
    end: int
    """Byte offset just after the last line (its newline included)."""
    kind: str
    text: str
    timestamp_ms: int | None
    level: str | None
    logger: str | None
    thread: str | None
    message: str
    """JSON records: the ``message`` field; others: ``text``."""
    fields: dict[str, Any] | None
    """JSON records: every key other than ts/level/logger/thread/message (``exception`` included)."""


_time_cache: dict[str, int] = {}


def _log4j_time_ms(text: str) -> int:
    seconds, fraction = text[:19], text[20:] if len(text) > 19 else ""
    base = _time_cache.get(seconds)
    if base is None:
        if "/" in seconds:
            parsed = datetime.strptime(seconds, "%y/%m/%d %H:%M:%S")
        else:
            parsed = datetime.fromisoformat(seconds.replace("T", " "))
        base = int(parsed.replace(tzinfo=UTC).timestamp()) * 1000
        if len(_time_cache) > 100_000:
            _time_cache.clear()
        _time_cache[seconds] = base
    return base + (int((fraction + "000")[:3]) if fraction else 0)


def _iso_time_ms(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


class _Open:
    """The record being assembled."""

    __slots__ = ("chained", "expects_exception", "head", "lines", "parts", "start")

    def __init__(self, head: LogRecord, first: str, start: int) -> None:
        self.head = head
        self.parts = [first]
        self.lines = 1
        self.start = start
        self.expects_exception = head.kind == KIND_TRACEBACK
        self.chained = False

    def accepts(self, text: str) -> bool:
        if not text:
            return True
        first = text[0]
        if first in " \t":
            if self.head.kind == KIND_TRACEBACK:
                self.expects_exception = True
            return True
        kind = self.head.kind
        if kind == KIND_JSON:
            return False
        if kind == KIND_TRACEBACK:
            if self.chained and text == _TRACEBACK:
                self.chained = False
                self.expects_exception = True
                return True
            if text in _CHAIN_SENTENCES:
                self.chained = True
                return True
            if self.expects_exception:
                self.expects_exception = False
                return True
            return False
        if text.startswith(("Caused by:", ": ", "Suppressed:")):
            return True
        return bool(_JAVA_EXCEPTION.match(text))

    def close(self, end: int) -> LogRecord:
        record = self.head
        record.lines = self.lines
        record.end = end
        if self.lines > 1:
            record.text = "\n".join(self.parts)
            if record.kind != KIND_JSON:
                record.message = record.text
        return record


def _start_record(text: str, line: int, start: int) -> LogRecord:
    if text[:1] == "{" and text.rstrip()[-1:] == "}":
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("message"), str) and "level" in obj:
            fields = {k: v for k, v in obj.items() if k not in JSON_RESERVED}
            thread = obj.get("thread")
            return LogRecord(
                line, 1, start, 0, KIND_JSON, text, _iso_time_ms(obj.get("ts")), str(obj["level"]),
                str(obj["logger"]) if obj.get("logger") is not None else None,
                str(thread) if thread is not None else None, obj["message"], fields,
            )  # fmt: skip
    if text[:1].isdigit():
        match = _LOG4J.match(text)
        if match is not None:
            return LogRecord(
                line, 1, start, 0, KIND_LOG4J, text, _log4j_time_ms(match["time"]), match["level"],
                match["logger"], match["thread1"] or match["thread2"], text, None,
            )  # fmt: skip
    if text == _TRACEBACK:
        return LogRecord(line, 1, start, 0, KIND_TRACEBACK, text, None, "ERROR", None, None, text, None)
    return LogRecord(line, 1, start, 0, KIND_TEXT, text, None, None, None, None, text, None)


@dataclass(frozen=True)
class ParseResult:
    records: list[LogRecord]
    end: int
    """Byte offset after the last returned record: where the next parse resumes."""
    next_line: int
    """Line number of the first line after the last returned record."""


def parse_records(data: bytes, start: int = 0, first_line: int = 1, final: bool = True) -> ParseResult:
    """The records of ``data[start:]`` (decompressed file bytes; ``start`` at a record boundary).

    With ``final=False`` (the file may still grow) the last record is held back, because more
    continuation lines may follow, and so is a last line without its newline.
    """
    chunk = data[start:] if start else data
    raw_lines = chunk.split(b"\n")
    tail = raw_lines.pop()  # b"" when the data ends with a newline
    if final and tail:
        raw_lines.append(tail)  # a last line without its newline counts when the file is final
    records: list[LogRecord] = []
    current: _Open | None = None
    offset = start
    line = first_line
    for raw in raw_lines:
        text = raw.decode("utf-8", "replace")
        if current is not None and current.accepts(text):
            current.parts.append(text)
            current.lines += 1
        else:
            if current is not None:
                records.append(current.close(offset))
            current = _Open(_start_record(text, line, offset), text, offset)
        offset += len(raw) + 1
        line += 1
    if final and tail:
        offset -= 1  # no newline after the last line
    if current is not None:
        if final:
            records.append(current.close(offset))
        else:
            offset = current.start
            line -= current.lines
    return ParseResult(records, offset, line)
