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
lines, ``Caused by:`` / ``: `` lines, a Java exception class line (``java.lang.RuntimeException:
boom``), and a Python exception line right after an indented line (``ValueError: bad`` in a UDF's
``PythonException`` in an executor log). A Python traceback takes its frames, the exception line
that closes it, the chained tracebacks with their sentences, and a ``Py4JJavaError``'s Java half
(``: org.apache.spark...``, its frames and ``Caused by:`` lines). A JSON line is a record of one
line (its entry is its object: a line after it is a record of its own). A ``\\r`` before the
newline (CRLF files) is part of the line end for these rules, and stays in the text. Bytes that
are not UTF-8 become U+FFFD: every line is kept. Offsets are byte offsets in the decompressed
file, so a checkpoint can resume after the last shipped record.

How: a file is decoded once (:class:`LogText`) and cut into records by compiled regular
expressions over the whole text (:func:`scan_records`: one match per log4j or plain record, its
continuation lines included); only JSON lines and Python tracebacks take a line-by-line path.
"""

from __future__ import annotations

import json
import json.scanner
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import msgspec

from spark_jobs.common.logs import RECORD_KEYS as JSON_RESERVED

KIND_LOG4J = "log4j"
KIND_JSON = "json"
KIND_TRACEBACK = "traceback"
KIND_TEXT = "text"

_SPACE = r"\t\n\x0b\x0c\r "
"""White space in these patterns: ASCII, spelled out so that Python's ``re`` and RE2 (the
column-wise shipper's engine, :mod:`~spark_jobs.datadog_logs.columnar`) read each pattern alike."""
_WORD = "0-9A-Za-z_$"
"""A Java identifier's characters (ASCII)."""
_D2 = "[0-9][0-9]"
LOG4J_HEAD = (
    rf"(?P<head>(?P<time>{_D2}(?:/{_D2}/{_D2} {_D2}:{_D2}:{_D2}"
    rf"|{_D2}-{_D2}-{_D2}[ T]{_D2}:{_D2}:{_D2}(?:[.,][0-9]{{1,6}})?))"
    rf"(?:Z|[+-]{_D2}:?{_D2})? +(?:\[(?P<thread1>[^\]\n]*)\] +)?"
    r"(?P<level>TRACE|DEBUG|INFO|WARN(?:ING)?|ERROR|FATAL|CRITICAL) +(?:\[(?P<thread2>[^\]\n]*)\] +)?"
    rf"(?P<logger>[^{_SPACE}:\[][^{_SPACE}:]*): ?)"
)
"""The head of a log4j line (time, optional thread, level, optional thread, logger): group ``head``.
Written so that the next character always decides the way (no two branches start alike): RE2
then extracts the groups in one pass, several times faster."""
_JAVA_EXCEPTION = (
    rf"(?:[a-zA-Z_$][{_WORD}]*\.)+[A-Z][{_WORD}]*(?:Exception|Error|Throwable)[{_WORD}]*(?::[^\n]*)?"
)
CONTINUATION_LINE = rf"(?:(?:[ \t]|Caused by:|: |Suppressed:)[^\n]*|{_JAVA_EXCEPTION})?\r?"
"""A line that joins an open log4j or plain record: blank, indented, ``Caused by:``..., a Java
exception (a ``\\r`` before the newline, CRLF files, is part of the line end)."""
PYTHON_EXCEPTION_LINE = (
    rf"(?:[a-zA-Z_][{_WORD}]*\.)*[A-Z][{_WORD}]*(?:Error|Exception|Warning|Exit|Interrupt|Iteration)"
    r"(?::[^\n]*)?\r?"
)
"""A Python exception line (``ValueError: bad``): it joins the open record right after an indented
continuation line, the frames of a Python traceback inside a Java one (a UDF's ``PythonException``
in an executor log)."""
_CONTINUATIONS = rf"(?:[ \t][^\n]*\n(?:{PYTHON_EXCEPTION_LINE}\n)?|{CONTINUATION_LINE}\n)*"
LOG4J_RECORD = re.compile(rf"{LOG4J_HEAD}[^\n]*\n{_CONTINUATIONS}")
"""A log4j record with its continuation lines; group 1 is its head (time, level, thread, logger)."""
LOG4J_HEAD_MATCH = re.compile(LOG4J_HEAD).match
_TEXT_RECORD = re.compile(rf"[^\n]*\n{_CONTINUATIONS}")
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


def log4j_time_ms(text: str) -> int | None:
    """Milliseconds since the epoch of a log4j time (``yy/MM/dd HH:mm:ss`` or ISO, read as UTC);
    None when the digits are not a calendar time (``24/13/45 25:61:00``): the record is kept and
    the intake stamps it when it arrives."""
    known = _time_cache.get(text)
    if known is not None:
        return known
    seconds, fraction = text[:19], text[20:]
    try:
        if "/" in seconds:
            parsed = datetime.strptime(seconds, "%y/%m/%d %H:%M:%S")
        else:
            parsed = datetime.fromisoformat(seconds.replace("T", " "))
    except ValueError:
        return None
    value = int(parsed.replace(tzinfo=UTC).timestamp()) * 1000 + (
        int((fraction + "000")[:3]) if fraction else 0
    )
    if len(_time_cache) > 100_000:
        _time_cache.clear()
    _time_cache[text] = value
    return value


def iso_time_ms(value: Any) -> int | None:
    """Milliseconds since the epoch of an ISO 8601 time (no zone: UTC); None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


class LogText:
    """A decompressed file (from byte ``start``) decoded once, with byte offsets of its characters.

    Bytes that are not UTF-8 are decoded as lone surrogates (``surrogateescape``: one character per
    byte, so offsets stay exact and the regular expressions see non-characters, as they would see
    U+FFFD); :meth:`clean` turns a piece of text into what ``decode("utf-8", "replace")`` of its
    bytes gives. ``text`` always ends with a newline (one is added after a last line without it).
    """

    def __init__(self, data: bytes, start: int = 0, final: bool = True) -> None:
        chunk = data[start:] if start else data
        if not final:
            chunk = chunk[: chunk.rfind(b"\n") + 1]  # a last line without its newline may still grow
        self.start = start
        self.size = len(chunk)
        try:
            self.text = chunk.decode("utf-8")
            self.undecodable = False
        except UnicodeDecodeError:
            self.text = chunk.decode("utf-8", "surrogateescape")
            self.undecodable = True
        # ASCII, or ASCII and undecodable bytes only (a surrogate per byte): character = byte offsets
        self.one_byte_chars = len(self.text) == self.size
        if self.text and self.text[-1] != "\n":
            self.text += "\n"
        self._char = 0
        self._byte = 0

    def clean(self, piece: str) -> str:
        """``piece`` with its undecodable bytes as U+FFFD (as the bytes' ``decode("utf-8", "replace")``)."""
        if not self.undecodable or piece.isascii():  # an undecodable byte is a non-ASCII surrogate
            return piece
        return piece.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

    def byte_offset(self, position: int) -> int:
        """Byte offset in the file of character ``position`` (positions asked in increasing order)."""
        if self.one_byte_chars:
            return self.start + min(position, self.size)
        if position < self._char:
            self._char = self._byte = 0
        self._byte += len(self.text[self._char : position].encode("utf-8", "surrogateescape"))
        self._char = position
        return self.start + min(self._byte, self.size)


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _finite(number: str) -> float:
    value = float(number)
    if math.isinf(value):
        raise ValueError(f"{number} is out of a double's range")
    return value


_scan_json = json.scanner.make_scanner(json.JSONDecoder(parse_constant=_not_json, parse_float=_finite))  # type: ignore[arg-type]
"""``json.loads`` without its wrapper (the C scanner): ``(value, end)`` of the JSON value at an index.
Strict: ``NaN`` / ``Infinity`` (which ``json.loads`` takes) are not JSON, and a number beyond a
double's range (``1e999``, which ``json.loads`` reads as infinity) cannot be written back as JSON;
the intake refuses a request holding them (400): such a line is a plain record, kept as written."""


_decode_json = msgspec.json.Decoder().decode
"""msgspec's JSON decoder (a third of ``json``'s time): strict (no ``NaN``, no number beyond a
double's range), as :data:`_scan_json`."""


MAX_JSON_DEPTH = 128
"""A JSON line whose values nest deeper than this is a plain record, kept as written. Decoders stop
at the interpreter's recursion limit (``RecursionError`` at about 1000 levels, fewer the deeper the
caller's stack), which would fail the run or answer differently from one caller to another; a
fixed limit far below it gives every path the same answer, and its entry still decodes at the
intake."""
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _nested_deeper_than(text: str, depth: int) -> bool:
    """Whether the arrays and objects of ``text`` (JSON) nest deeper than ``depth`` (brackets in
    strings aside)."""
    if text.count("[") + text.count("{") <= depth:
        return False  # too few brackets to nest that deep: the common case, two scans in C
    level = deepest = 0
    for char in re.sub(r"[^\[\]{}]", "", _JSON_STRING.sub("", text)):
        level += 1 if char in "[{" else -1
        deepest = max(deepest, level)
    return deepest > depth


def json_object(line: str) -> dict[str, Any] | None:
    """The line (starting with ``{``) as a JSON log object of the jobs (a ``message`` string and a
    ``level``), else None; what ``json.loads(line)`` accepts (JSON whitespace may follow), except
    ``NaN``, ``Infinity``, numbers beyond a double's range and values nested deeper than
    :data:`MAX_JSON_DEPTH`."""
    closed = line.endswith("}") or line.rstrip().endswith("}")  # rstrip copies the line: only if needed
    if not closed or _nested_deeper_than(line, MAX_JSON_DEPTH):
        return None
    try:
        obj = _decode_json(line)
    except msgspec.DecodeError:  # what msgspec refuses and json may take (an escaped lone surrogate)
        try:
            obj, end = _scan_json(line, 0)
        except (ValueError, StopIteration):
            return None
        if line[end:].strip(" \t\r"):
            return None  # json.loads: "Extra data"
    if isinstance(obj, dict) and isinstance(obj.get("message"), str) and "level" in obj:
        return obj
    return None


TRACEBACK = "Traceback (most recent call last):"


def traceback_lines(following: Iterable[str]) -> int:
    """How many of the lines ``following`` a :data:`TRACEBACK` line belong to its traceback: the
    indented frames, the exception line closing each traceback, blank lines, the chained
    tracebacks with their sentences, and the Java half of a ``Py4JJavaError`` (``: org...``
    right after the exception line, then its frames and ``Caused by:`` lines)."""
    count = 0
    expects_exception, chained, java = True, False, False
    previous_closed = False  # the line before was an exception line
    for raw in following:
        line = raw[:-1] if raw[-1:] == "\r" else raw  # CRLF files
        closes = False
        if java:
            if line and line[0] not in " \t" and not line.startswith(("Caused by:", "Suppressed:")):
                break
        elif not line:
            pass
        elif line[0] in " \t":
            expects_exception = True
        elif chained and line == TRACEBACK:
            chained, expects_exception = False, True
        elif line in _CHAIN_SENTENCES:
            chained = True
        elif expects_exception:
            expects_exception, closes = False, True
        elif previous_closed and line.startswith(": "):
            java = True
        else:
            break
        previous_closed = closes
        count += 1
    return count


def _lines_from(text: str, position: int) -> Iterator[str]:
    while position < len(text):
        newline = text.index("\n", position)
        yield text[position:newline]
        position = newline + 1


def _traceback_end(text: str, position: int) -> int:
    """End of the Python traceback whose header line starts at ``position``."""
    end = text.index("\n", position) + 1
    for line in islice(_lines_from(text, end), traceback_lines(_lines_from(text, end))):
        end += len(line) + 1
    return end


def scan_records(log: LogText) -> Iterator[tuple[str, int, int, Any]]:
    """``(kind, start, end, detail)`` of each record of ``log.text`` in order (character positions,
    ``end`` after the last line's newline); ``detail``: the log4j match, the JSON object (its
    text cleaned), or None."""
    text = log.text
    size = len(text)
    log4j_record = LOG4J_RECORD.match
    position = 0
    while position < size:
        match = log4j_record(text, position)
        if match is not None:
            end = match.end()
            yield KIND_LOG4J, position, end, match
        else:
            kind, end, detail = other_record(log, position)
            yield kind, position, end, detail
        position = end


def other_record(log: LogText, position: int) -> tuple[str, int, Any]:
    """``(kind, end, detail)`` (as :func:`scan_records`) of the record at ``position`` that
    :data:`LOG4J_RECORD` does not match: a JSON line, a Python traceback or a plain record."""
    text = log.text
    first = text[position]
    if first == "{":
        newline = text.index("\n", position)
        obj = json_object(log.clean(text[position:newline]))
        if obj is not None:
            return KIND_JSON, newline + 1, obj  # no line joins it: its entry is its object
    elif first == "T" and text.startswith((TRACEBACK + "\n", TRACEBACK + "\r\n"), position):
        return KIND_TRACEBACK, _traceback_end(text, position), None
    return KIND_TEXT, _TEXT_RECORD.match(text, position).end(), None  # type: ignore[union-attr]  # any line matches


def record_of(log: LogText, kind: str, start: int, end: int, detail: Any, line: int) -> LogRecord:
    """The :class:`LogRecord` of a scanned record whose first line is number ``line`` (byte offsets
    left 0: the caller sets them)."""
    text = log.clean(log.text[start : end - 1])
    lines = log.text.count("\n", start, end)
    if kind == KIND_LOG4J:
        thread = detail["thread1"] or detail["thread2"]
        return LogRecord(
            line, lines, 0, 0, kind, text, log4j_time_ms(detail["time"]), detail["level"],
            log.clean(detail["logger"]), log.clean(thread) if thread else None, text, None,
        )  # fmt: skip
    if kind == KIND_JSON:
        obj: dict[str, Any] = detail
        fields = {k: v for k, v in obj.items() if k not in JSON_RESERVED}
        thread = obj.get("thread")
        return LogRecord(
            line, lines, 0, 0, kind, text, iso_time_ms(obj.get("ts")), str(obj["level"]),
            str(obj["logger"]) if obj.get("logger") is not None else None,
            str(thread) if thread is not None else None, obj["message"], fields,
        )  # fmt: skip
    level = "ERROR" if kind == KIND_TRACEBACK else None
    return LogRecord(line, lines, 0, 0, kind, text, None, level, None, None, text, None)


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
    log = LogText(data, start, final)
    records: list[LogRecord] = []
    line = first_line
    for kind, begin, end, detail in scan_records(log):
        record = record_of(log, kind, begin, end, detail, line)
        record.start, record.end = log.byte_offset(begin), log.byte_offset(end)
        records.append(record)
        line += record.lines
    if records and not final:
        held = records.pop()
        line = held.line
    return ParseResult(records, records[-1].end if records else start, line)
