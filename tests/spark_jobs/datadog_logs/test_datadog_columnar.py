"""The column-wise batches hold, record for record, what the parser (the reference) and the entry
builder's record path give, whatever the text, however it is cut into pieces."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from datadog_log_files import job_run

from spark_jobs.datadog_logs import columnar
from spark_jobs.datadog_logs.columnar import batches
from spark_jobs.datadog_logs.entries import EntryBuilder, RunContext
from spark_jobs.datadog_logs.layout import LogFile, parse_relative_path
from spark_jobs.datadog_logs.parser import KIND_JSON, LogRecord, json_object, parse_records

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CONTEXT = RunContext("tiny", "tiny", "test", "data, eng", {"owner": 'jane "jd" doe'})
LINES = [
    '26/01/15 10:00:01 INFO SparkContext: Running "quoted" \\ back\tslash\r',
    "2026-01-15 10:00:03,250 WARN [dispatcher-event-loop-1] org.apache.BlockManager: low memory",
    "2026-01-15T10:00:03.5 ERROR [main] Executor: failed",
    "2026-01-15 10:00:03 INFO [pool: 1] Executor: a thread with a colon",
    "java.lang.IllegalStateException: boom",
    "\tat a.B.c(B.java:1)",
    "Caused by: java.io.IOException: disk",
    "\t... 3 more",
    "26/01/13 10:00:01 INFO Old: older than the intake keeps",
    "26/01/13 10:00:01 INFO Old: older, and a bell \x07 the record path escapes",
    "24/13/45 25:61:00 INFO Foo: not a time",
    "printed caf\u00e9 \u20ac \U0001f600",
    "a bell \x07 and an escape \x1b[0m",
    "a bad \udcff byte and \udce2\udc82 a cut character",
    "26/01/15 10:00:01 INFO Log\udcffger: a logger with a bad byte",
    "",
    "   indented",
    '{"ts": "2026-01-15T10:00:04+00:00", "level": "INFO", "logger": "spark_jobs.x", "message": "m", "n": 1}',
    '{"level": "ERROR", "message": "caf\u00e9", "exception": "Traceback ...", "status": "kept apart"}',
    '{"level": "INFO", "message": "huge", "n": 1e999}',
    "{not json",
    "Traceback (most recent call last):",
    '  File "job.py", line 1, in <module>',
    "ValueError: bad",
    "During handling of the above exception, another exception occurred:",
    "Suppressed: x",
    ": a colon line",
    "x" * 3000,
]


def log_file(tmp_path) -> LogFile:
    parts = parse_relative_path("SPARK_DRIVER/stderr.gz") or {}
    return LogFile(
        job_run(tmp_path, "run-1"), "SPARK_DRIVER/stderr.gz", size=0, fingerprint="", modified=NOW, **parts
    )


def builder(tmp_path) -> EntryBuilder:
    return EntryBuilder(CONTEXT, log_file(tmp_path), int(NOW.timestamp() * 1000))


def entries_of(records: list[LogRecord], entries: EntryBuilder) -> list[list[dict]]:
    """Each record's entries (as objects) by the record path."""
    objects = []
    for record in records:
        if record.kind == KIND_JSON:
            built = entries.json_line(json_object(record.text.split("\n")[0]) or {}, record.line)
        else:
            built = entries.serialized(entries.entry(record))
        objects.append([json.loads(e) for e in built])
    return objects


def reference(data: bytes, final: bool, entries: EntryBuilder) -> tuple[list[dict], int, int, int]:
    """Entries (as objects) by the parser and the record path; end offset, records, lines."""
    parsed = parse_records(data, final=final)
    objects = [e for of_record in entries_of(parsed.records, entries) for e in of_record]
    return objects, parsed.end, len(parsed.records), parsed.next_line - 1


def columnwise(data: bytes, final: bool, entries: EntryBuilder) -> tuple[list[dict], int, int, int]:
    objects, end, records, lines = [], 0, 0, 0
    for batch in batches(data, 0, 1, final, entries):
        assert 0 < len(batch.entries) <= columnar.MAX_ENTRIES_PER_REQUEST
        body = b"[" + b",".join(e.encode() for e in batch.entries.to_pylist()) + b"]"
        assert len(body) <= columnar.MAX_REQUEST_BYTES
        objects += json.loads(body)
        assert batch.offset >= end and batch.records >= records and batch.lines >= lines
        end, records, lines = batch.offset, batch.records, batch.lines
    return objects, end, records, lines


def test_every_kind_of_line_gives_the_record_paths_entries(tmp_path):
    data = "\n".join(LINES).encode("utf-8", "surrogateescape") + b"\n"
    fast, slow = builder(tmp_path), builder(tmp_path)
    got, expected = columnwise(data, True, fast), reference(data, True, slow)
    assert got == expected
    assert expected[2] == 18 and fast.late == slow.late == 2


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("piece_bytes", [columnar.PIECE_BYTES, 200])
def test_random_texts_cut_anywhere_give_the_references_batches(tmp_path, monkeypatch, seed, piece_bytes):
    """Texts of random lines, whole (final) or cut at a random byte (not final, the last record
    held back); small pieces put records across piece ends; small requests split batches."""
    monkeypatch.setattr(columnar, "PIECE_BYTES", piece_bytes)
    monkeypatch.setattr(columnar, "MAX_REQUEST_BYTES", 9000)
    monkeypatch.setattr(columnar, "MAX_ENTRIES_PER_REQUEST", 7)
    rng = random.Random(seed)
    for _ in range(10):
        text = "\n".join(rng.choice(LINES) for _ in range(rng.randrange(1, 40)))
        data = (text + rng.choice(["\n", ""])).encode("utf-8", "surrogateescape")
        cut = data[: rng.randrange(len(data) + 1)]
        for piece, final in ((data, True), (cut, False), (cut, True)):
            fast, slow = builder(tmp_path), builder(tmp_path)
            assert columnwise(piece, final, fast) == reference(piece, final, slow), (piece, final)
            assert fast.late == slow.late


def test_batches_resume_after_a_checkpoint(tmp_path):
    data = "\n".join(LINES).encode("utf-8", "surrogateescape") + b"\n"
    first = list(batches(data, 0, 1, False, builder(tmp_path)))[0]
    objects, end, records, lines = reference(data, True, builder(tmp_path))
    rest = list(batches(data, first.offset, first.lines + 1, True, builder(tmp_path)))
    assert [json.loads(e) for b in [first, *rest] for e in b.entries.to_pylist()] == objects
    assert (rest[-1].offset, first.records + rest[-1].records, first.lines + rest[-1].lines) == (
        end,
        records,
        lines,
    )


def test_a_line_starting_with_a_never_continuation_byte_is_never_a_continuation_line():
    """The column-wise path does not try the continuation rule on lines starting with one of
    ``NEVER_CONTINUATION`` (log4j heads, JSON lines): the reference's rule must agree, for the
    shapes of every continuation line (indented, ``Caused by:``, ``: ``, ``Suppressed:``, blank,
    Java exceptions) behind each such byte, and for random tails."""
    import re

    from spark_jobs.datadog_logs.parser import CONTINUATION_LINE

    continuation = re.compile(f"{CONTINUATION_LINE}")
    tails = [line for line in LINES if continuation.fullmatch(line)] + ["", "\r", "x", "0: x"]
    rng = random.Random(7)
    alphabet = "aZ_$.:09 \t{[]\r" + "ExceptionErrorThrowable"
    tails += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(2000)]
    assert len(tails) > 2000 and any(continuation.fullmatch(t) for t in tails[:12])
    for first in columnar.NEVER_CONTINUATION:
        for tail in tails:
            assert not continuation.fullmatch(chr(first) + tail), repr(chr(first) + tail)
