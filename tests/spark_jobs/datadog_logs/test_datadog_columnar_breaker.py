"""Edge cases of the column-wise batches (:mod:`spark_jobs.datadog_logs.columnar`) found by
hostile inputs: each holds what the parser and the entry builder's record path (the reference)
give for the same text. The last ones are what the reference's own rules got wrong on real logs
(a JSON line's indented followers dropped, PySpark failures and CRLF files cut apart, a JSON line
over the entry limit as ASCII JSON shipped whole): the rules were changed in both paths."""

from __future__ import annotations

import json
import random
from itertools import accumulate

import pyarrow.compute as pc
import pytest
from datadog_log_files import job_run, write_log
from test_datadog_columnar import CONTEXT, builder, columnwise, entries_of, reference

from spark_jobs.datadog_logs import columnar, entries
from spark_jobs.datadog_logs.columnar import batches
from spark_jobs.datadog_logs.entries import json_line_of
from spark_jobs.datadog_logs.parser import parse_records
from spark_jobs.datadog_logs.shipper import ShipResult, ship_job_run


def same_as_reference(tmp_path, data: bytes, final: bool = True) -> None:
    fast, slow = builder(tmp_path), builder(tmp_path)
    assert columnwise(data, final, fast) == reference(data, final, slow)
    assert fast.late == slow.late


def test_an_empty_thread_in_brackets_is_no_thread_name(tmp_path):
    """``[]`` after the level (or both before and after) is an empty thread: the reference leaves
    ``logger.thread_name`` out, as it does for ``[]`` before the level."""
    for head in ("INFO []", "[] INFO []", "[] INFO"):
        same_as_reference(tmp_path, f"2026-01-15 10:00:03 {head} Foo: x\n".encode())


def test_a_late_record_built_by_the_record_path_counts_once(tmp_path):
    """A log4j record older than the intake keeps and over the entry limit (left to the record
    path, which splits it) is one late record, not two."""
    same_as_reference(tmp_path, b"26/01/13 10:00:01 INFO Old: " + b"x" * 1_000_000 + b"\n")


def test_a_late_json_line_over_the_entry_limit_counts_once(tmp_path):
    """A JSON line older than the intake keeps and over the entry limit (its entry split in parts)
    is one late record, whichever path builds it."""
    line = json.dumps({"ts": "2026-01-13T10:00:01+00:00", "level": "INFO", "message": "x" * 1_000_000})
    fast, slow = builder(tmp_path), builder(tmp_path)
    data = line.encode() + b"\nafter\n"
    made = columnwise(data, True, fast)
    assert made == reference(data, True, slow) and len(made[0]) == 3  # two parts and "after"
    assert fast.late == slow.late == 1


def test_a_large_record_beyond_ascii_is_split_as_the_reference_splits_it(tmp_path):
    """The reference measures an entry as ASCII JSON (``\\u00e9``: 6 bytes); 400,000 ``é`` (800 kB of
    UTF-8, 2.4 MB as ASCII JSON) are split into parts there, so here too."""
    same_as_reference(tmp_path, ("\u00e9" * 400_000).encode() + b"\nafter\n")


HEADS = ["26/01/15 10:00:01", "2026-01-15 10:00:03,250", "2026-01-15T10:00:03.5", "2026-01-15 10:00:03.123456",
         "2026-01-15 10:00:03Z", "2026-01-15T10:00:03+02:00", "2026-01-15 10:00:03-0530", "26/01/13 10:00:01",
         "2026-02-30 10:00:00,000", "24/13/45 25:61:00", "0000-01-01 00:00:00"]  # fmt: skip
LEVELS = ["INFO", "WARN", "WARNING", "ERROR", "FATAL", "CRITICAL", "DEBUG", "TRACE", "info", "NOTICE"]
THREADS = ["", "[main] ", "[] ", "[pool: 1] ", "[a [b] ", "[\u00a0] ", "[x\udcff] "]
LOGGERS = ["SparkContext", "org.apache.X", "Log\udcffger", "caf\u00e9", "a\u00a0b", "x\u2028y", "n\u0085l",
           ":bad", "[br", "Foo:bar", "\x1b[0m", 'q"\\']  # fmt: skip
MESSAGES = ["msg", "", " lead", "\ttab", 'q"uote \\ back', "cr\r", "nul\x00", "esc\x1b[0m", "del\x7f",
            "vt\x0b ff\x0c", "caf\u00e9 \u20ac \U0001f600", "\u2028 ls \u0085 nel \u00a0", "bad \udcff byte",
            "cut \udce2\udc82", "  ", "\udc80\udcc3"]  # fmt: skip
CONTINUATIONS = ["\tat a.B.c(B.java:1)", "Caused by: java.io.IOException: disk", "\t... 3 more", "Suppressed: x",
                 "\tSuppressed: java.lang.Exception: y", ": colon", "java.lang.IllegalStateException: boom",
                 "java.lang.OutOfMemoryError", "com.foo.Bar$BazException: z", "", " ", "\t", "\r", " \r",
                 "\x0c", "\x0b", "\u00a0indent", "\u3000ideographic"]  # fmt: skip
PYTHON = ["Traceback (most recent call last):", '  File "job.py", line 1, in <module>', "    raise ValueError('bad')",
          "ValueError: bad", "During handling of the above exception, another exception occurred:",
          "The above exception was the direct cause of the following exception:", "KeyError: 'x'",
          "Traceback (most recent call last):\r", "Traceback (most recent call last): "]  # fmt: skip
JSON_LINES = [
    '{"ts": "2026-01-15T10:00:04+00:00", "level": "INFO", "logger": "spark_jobs.x", "message": "m", "n": 1}',
    '{"level": "ERROR", "message": "caf\u00e9", "exception": "Traceback ...", "status": "kept apart"}',
    '{"level": "INFO", "message": "huge", "n": 1e999}',
    '{"level": "INFO", "message": "nan", "n": NaN}',
    '{"level": "INFO", "message": "big", "n": 123456789012345678901234567890}',
    '{"level": "INFO", "message": "dup", "message": "dup2", "level": "WARN"}',
    '{"level": "INFO", "message": "sur \\udcff", "x": "\\ud800"}',
    '{"level": "INFO", "message": "m", "status": 1, "ddtags": "t", "emr": {}, "fields": [1], "hostname": "h",'
    ' "service": "s", "split": 1, "timestamp": 5, "original_timestamp": 1, "ts": "2026-01-13T00:00:00"}',
    '{"level": null, "message": "m", "logger": 5, "thread": null}',
    '{"level": "INFO", "message": "nested", "a": {"b": [1, {"d": null}]}, "exception": {"x": 1}}',
    '{"level": "INFO", "message": "m"}   ',
    '{"level": "INFO", "message": "m"}\r',
    '{"level": "INFO", "message": "m"}\x0c',
    '{"level": "INFO", "message": "m"} x',
    '{"message": "no level"}',
    '{"level": "INFO", "message": 5}',
    "{not json",
    '{"level": "INFO", "message": "bad \udcff raw"}',
    '{"level":"INFO","message":"ctl \\u0000 \\u001b"}',
]
OTHERS = [
    "printed caf\u00e9",
    "a bell \x07",
    "\x00\x00",
    "\x7f",
    "plain",
    "{",
    "}",
    "Caused by: at start",
    "\udcff",
]


def hostile_line(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        threads = THREADS if rng.random() < 0.5 else [""]
        return (
            f"{rng.choice(HEADS)}{rng.choice([' ', '  '])}{rng.choice(threads)}{rng.choice(LEVELS)} "
            f"{rng.choice(threads)}{rng.choice(LOGGERS)}{rng.choice([': ', ':', ':  '])}{rng.choice(MESSAGES)}"
        )
    if kind < 0.55:
        return rng.choice(CONTINUATIONS)
    if kind < 0.7:
        return rng.choice(PYTHON)
    if kind < 0.85:
        return rng.choice(JSON_LINES)
    return rng.choice(OTHERS) + rng.choice(MESSAGES)


def hostile_text(rng: random.Random, lines: int) -> bytes:
    """Random lines of every kind (undecodable bytes as written by surrogateescape), LF or CRLF."""
    end = "\r\n" if rng.random() < 0.15 else "\n"
    text = end.join(hostile_line(rng) for _ in range(lines)) + rng.choice([end, ""])
    return text.encode("utf-8", "surrogateescape")


def checked_batches(tmp_path, data: bytes, start: int, first_line: int, final: bool) -> list[tuple[int, int]]:
    """Compare the batches of ``data[start:]`` with the reference, batch by batch: each batch's
    checkpoint is the end of a record of the reference, after all the entries of the records
    before it; the entries in order are the reference's. Returns each batch's checkpoint
    (offset, number of the next line)."""
    fast, slow = builder(tmp_path), builder(tmp_path)
    parsed = parse_records(data, start, first_line, final)
    per_record = entries_of(parsed.records, slow)
    ends = [start, *(r.end for r in parsed.records)]
    lines = [0, *accumulate(r.lines for r in parsed.records)]
    entries_before = [0, *accumulate(len(r) for r in per_record)]
    got: list[dict] = []
    checkpoints = []
    for batch in batches(data, start, first_line, final, fast):
        assert 0 < len(batch.entries) <= columnar.MAX_ENTRIES_PER_REQUEST
        body = b"[" + b",".join(e.encode() for e in batch.entries.to_pylist()) + b"]"
        assert len(body) <= columnar.MAX_REQUEST_BYTES or len(batch.entries) == 1
        got += json.loads(body)
        k = batch.records
        assert (batch.offset, batch.lines) == (ends[k], lines[k])
        assert entries_before[k] <= len(got) <= entries_before[min(k + 1, len(per_record))]
        checkpoints.append((batch.offset, first_line + batch.lines))
    assert got == [e for entries in per_record for e in entries]
    last = (checkpoints[-1][0], checkpoints[-1][1] - first_line) if checkpoints else (start, 0)
    assert last == (parsed.end, parsed.next_line - first_line) and (
        not checkpoints or k == len(parsed.records)
    )
    assert fast.late == slow.late
    return checkpoints


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("piece_bytes", [columnar.PIECE_BYTES, 1, 7, 64])
def test_hostile_texts_resumed_from_every_checkpoint_give_the_references_batches(
    tmp_path, monkeypatch, seed, piece_bytes
):
    """CRLF, control characters, Unicode white space, undecodable bytes, JSON lines that are no
    log objects (NaN, 1e999, extra data, escaped lone surrogates), every log4j head shape, Python
    and Java traces; whole (final), cut at a random byte (not final, and final), in pieces of a
    few bytes, in small requests, and resumed from every checkpoint a first pass gave."""
    monkeypatch.setattr(columnar, "PIECE_BYTES", piece_bytes)
    rng = random.Random(seed)
    monkeypatch.setattr(columnar, "PIECE_ENTRY_BYTES", rng.choice([columnar.PIECE_ENTRY_BYTES, 1, 4000]))
    monkeypatch.setattr(columnar, "MAX_REQUEST_BYTES", rng.choice([5_000_000, 3000]))
    monkeypatch.setattr(columnar, "MAX_ENTRIES_PER_REQUEST", rng.choice([1000, 7, 1]))
    for _ in range(2):
        data = hostile_text(rng, rng.randrange(0, 40))
        cut = data[: rng.randrange(len(data) + 1)]
        for text, final in ((data, True), (cut, False), (cut, True)):
            for index, (offset, next_line) in enumerate(checked_batches(tmp_path, text, 0, 1, final)):
                checked_batches(tmp_path, text, offset, next_line, final=index % 2 == 0)


LIMIT = 6000
LONG_UNITS = [
    "x",
    "\u00e9",
    "\u20ac",
    "\U0001f600",
    "\x7f",
    '"',
    "\\",
    "\t",
    "a\u00e9",
    "\x07",
    "\udcff",
    "\r",
]


def long_line(rng: random.Random) -> str:
    """A line near the entry limit as UTF-8 or as ASCII JSON (``\\u00e9``: 6 bytes), or past both."""
    unit = rng.choice(LONG_UNITS)
    size = rng.choice(
        [LIMIT // 6 - 200, LIMIT // 6, LIMIT // 3, LIMIT // 2 - 250, LIMIT - 300, LIMIT, 2 * LIMIT]
    )
    return unit * max(1, size // len(unit))


@pytest.mark.parametrize("seed", range(20))
def test_records_near_the_entry_limit_are_split_as_the_reference_splits_them(tmp_path, monkeypatch, seed):
    """Plain, log4j, stack-trace and JSON records of characters that ASCII JSON escapes (or not)
    around :data:`MAX_ENTRY_BYTES` (made small), in pieces and requests of a few entries."""
    monkeypatch.setattr(entries, "MAX_ENTRY_BYTES", LIMIT)
    monkeypatch.setattr(columnar, "MAX_ENTRY_BYTES", LIMIT)
    rng = random.Random(seed)
    lines = []
    for _ in range(rng.randrange(1, 8)):
        kind = rng.random()
        if kind < 0.3:
            lines.append(long_line(rng))
        elif kind < 0.5:
            lines.append(f"{rng.choice(HEADS)} INFO Foo: {long_line(rng)}")
        elif kind < 0.6:
            message = "\u00e9" * rng.randrange(LIMIT // 3)
            lines.append(
                json.dumps({"level": "INFO", "message": message, "exception": "e" * rng.randrange(LIMIT)})
            )
        elif kind < 0.7:
            lines.append("\tat " + long_line(rng))
        else:
            lines.append(hostile_line(rng))
    data = "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n"
    for piece_bytes in (columnar.PIECE_BYTES, 1000):
        monkeypatch.setattr(columnar, "PIECE_BYTES", piece_bytes)
        monkeypatch.setattr(columnar, "MAX_REQUEST_BYTES", rng.choice([3 * LIMIT, LIMIT + 10]))
        monkeypatch.setattr(columnar, "MAX_ENTRIES_PER_REQUEST", rng.choice([1000, 3, 1]))
        for offset, next_line in checked_batches(tmp_path, data, 0, 1, True):
            checked_batches(tmp_path, data, offset, next_line, True)


def shipped(server, run_id: str) -> list[tuple]:
    return [
        (e["message"], e["emr"]["line"], e["status"], json.dumps([e.get("logger"), e.get("split")]))
        for e in server.events
        if e["hostname"] == f"{run_id}-driver"
    ]


@pytest.mark.parametrize("seed", range(6))
def test_hostile_files_growing_over_sweeps_or_crashed_ship_every_record_once(
    tmp_path, intake, intake_server, monkeypatch, seed
):
    """Through the intake: a hostile file shipped in one go, in sweeps while it grows (cut at
    random bytes, then final), and with a crash after an accepted batch then a rerun, gives the
    same events; the crash resends at most its one batch."""
    rng = random.Random(seed)
    monkeypatch.setattr(columnar, "PIECE_BYTES", rng.choice([columnar.PIECE_BYTES, 1, 64]))
    monkeypatch.setattr(columnar, "MAX_ENTRIES_PER_REQUEST", 3)
    data = hostile_text(rng, rng.randrange(10, 50))
    logs, lake = tmp_path / "logs", f"file://{tmp_path}/lake"

    def ship(run_id: str, **options) -> ShipResult:
        return ship_job_run(job_run(logs, run_id), lake_root=lake, intake=intake, context=CONTEXT, **options)

    write_log(logs, "one", "SPARK_DRIVER/stderr.gz", data)
    ship("one", final=True)
    for cut in sorted(rng.randrange(len(data) + 1) for _ in range(3)):
        write_log(logs, "grown", "SPARK_DRIVER/stderr.gz", data[:cut], age_seconds=0)
        ship("grown", settle_seconds=600)
    write_log(logs, "grown", "SPARK_DRIVER/stderr.gz", data, age_seconds=0)
    ship("grown", final=True)

    def crash_after_second(accepted: int) -> None:
        if accepted == 2:
            raise RuntimeError("worker lost after the intake accepted batch 2")

    write_log(logs, "crashed", "SPARK_DRIVER/stderr.gz", data)
    with pytest.raises(RuntimeError, match="worker lost"):
        ship("crashed", final=True, on_batch_accepted=crash_after_second)
    ship("crashed", final=True)
    assert ship("crashed", final=True).entries == 0
    one, crashed = shipped(intake_server, "one"), shipped(intake_server, "crashed")
    assert len(one) > 6 and shipped(intake_server, "grown") == one
    assert list(dict.fromkeys(crashed)) == list(dict.fromkeys(one)) and len(crashed) - len(one) <= 3


@pytest.mark.parametrize("character", ["\u00e9", "\x7f"], ids=["e-acute", "DEL"])
def test_a_json_line_over_the_entry_limit_as_the_intake_measures_it_is_split(
    tmp_path, intake, intake_server, character
):
    """Every entry is measured as ASCII JSON (the local intake's measure, and the larger one):
    400,000 'é' are 800 kB of UTF-8 but 2.4 MB as ASCII JSON, 400,000 DEL 400 kB but 2.4 MB
    (DEL is ASCII, written raw in UTF-8 JSON and as \\u007f in ASCII JSON): the JSON line is split too."""
    message = character * 400_000
    line = json.dumps({"level": "INFO", "message": message}, ensure_ascii=False)
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stdout.gz", f"{line}\n{message}\n")
    ship_job_run(
        job_run(tmp_path / "logs", "run-1"),
        lake_root=f"file://{tmp_path}/lake",
        intake=intake,
        context=CONTEXT,
    )
    assert "split" in intake_server.events[0] and "split" in intake_server.events[-1]
    assert not any(e.get("_truncated") for e in intake_server.events)


def test_indented_lines_after_a_json_line_are_not_dropped(tmp_path, intake, intake_server):
    """A JSON line's entry is its object: lines after it are records of their own, not lost in it."""
    text = '{"level": "INFO", "message": "m"}\n    printed after it\n\tat a.B.c(B.java:1)\nnext\n'
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", text)
    ship_job_run(
        job_run(tmp_path / "logs", "run-1"),
        lake_root=f"file://{tmp_path}/lake",
        intake=intake,
        context=CONTEXT,
    )
    shipped_text = json.dumps(intake_server.events)
    assert "printed after it" in shipped_text and "B.java:1" in shipped_text


def test_a_json_lines_thread_without_a_logger_is_kept(tmp_path):
    """``thread`` is a record key (not a field): with no ``logger`` (or a null one) it was dropped."""
    for line in (
        '{"level": "INFO", "message": "m", "thread": "main"}',
        '{"level": "INFO", "message": "m", "logger": null, "thread": "main"}',
    ):
        (entry,) = builder(tmp_path).json_line(json.loads(line), 1)
        assert json_line_of(json.loads(entry)) == {"level": "INFO", "message": "m", "thread": "main"}
        same_as_reference(tmp_path, line.encode() + b"\n")


def test_a_piece_of_short_lines_is_cut_so_that_its_entries_stay_bounded(tmp_path, monkeypatch):
    """Each line can make an entry of a few hundred bytes (the file's attributes): 6.6 million
    one-character lines (13 MB, one 64 MB piece) made 2.2 GB of entries, over what an Arrow string
    array holds (ArrowCapacityError: the file could never ship). A piece takes at most the lines
    whose entries fit :data:`PIECE_ENTRY_BYTES` (here made small), unless one record needs more."""
    monkeypatch.setattr(columnar, "PIECE_ENTRY_BYTES", 40_000)
    piece_entry_bytes = []
    entries_of_piece = columnar._entries

    def measured(*args):
        entries, record_of = entries_of_piece(*args)
        piece_entry_bytes.append(pc.sum(pc.binary_length(entries)).as_py())
        return entries, record_of

    monkeypatch.setattr(columnar, "_entries", measured)
    same_as_reference(tmp_path, b"x\n" * 2000)
    assert len(piece_entry_bytes) > 1 and max(piece_entry_bytes) <= 40_000
    trace = (
        b"26/01/15 10:00:01 ERROR Foo: boom\n" + b"\tat a.B.c(B.java:1)\n" * 300
    )  # more lines than a piece
    same_as_reference(tmp_path, b"x\n" * 150 + trace + b"x\n" * 150)


def test_control_characters_are_escaped_column_wise(tmp_path, monkeypatch):
    """ANSI colours (``\\x1b[32m``) and the other control characters are escaped as ``json`` escapes
    them (``\\u001b``, ``\\b``, ``\\f``: same lengths, so the entry limit is measured alike), not
    left to the record path one record at a time (measured: 16 µs an entry there, 2.6 µs here)."""
    by_record_path = []
    one_at_a_time = columnar._built_one_at_a_time

    def recorded(*args):
        by_record_path.append(args)
        return one_at_a_time(*args)

    monkeypatch.setattr(columnar, "_built_one_at_a_time", recorded)
    text = b"26/01/15 10:00:01 INFO A: \x1b[32mgreen\x1b[0m \x00\x08\x0b\x0c\x1f\x7f\nplain \x07 bell\n"
    same_as_reference(tmp_path, text * 3)
    assert by_record_path == []


PYTHON_UDF_FAILURE = """26/01/15 10:00:01 ERROR Executor: Exception in task 0.0 in stage 1.0 (TID 1)
org.apache.spark.api.python.PythonException: Traceback (most recent call last):
  File "/usr/lib/spark/python/pyspark/worker.py", line 1247, in main
    process()
  File "/tmp/job.py", line 5, in parse
    return int(x)
ValueError: invalid literal for int() with base 10: 'abc'

\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException(PythonRunner.scala:572)
\tat java.base/java.lang.Thread.run(Thread.java:829)
"""
PY4J_FAILURE = """Traceback (most recent call last):
  File "/tmp/job.py", line 10, in <module>
    df.write.save("s3://bucket/out")
  File "/usr/lib/py4j/protocol.py", line 326, in get_return_value
    raise Py4JJavaError(
py4j.protocol.Py4JJavaError: An error occurred while calling o123.save.
: org.apache.spark.SparkException: Job aborted.
\tat org.apache.spark.sql.execution.datasources.FileFormatWriter$.write(FileFormatWriter.scala:251)
Caused by: java.io.IOException: No space left on device
\t... 42 more
"""


@pytest.mark.parametrize(
    "text", [PYTHON_UDF_FAILURE, PY4J_FAILURE], ids=["udf-python-exception", "py4j-error"]
)
def test_the_commonest_pyspark_failures_are_one_error_entry(tmp_path, text):
    """A UDF's PythonException keeps its Python exception line and Java frames; a Py4JJavaError
    traceback keeps its Java half (``: org...``, frames, ``Caused by:``)."""
    same_as_reference(tmp_path, text.encode())
    shipped_entries = columnwise(text.encode(), True, builder(tmp_path))[0]
    assert [(e["status"], e["message"]) for e in shipped_entries] == [("error", text.rstrip("\n"))]


def test_a_crlf_file_gives_the_records_of_its_lf_version(tmp_path):
    """A ``\\r`` before the newline is part of the line end for the rules (and kept in the text)."""
    text = (
        "26/01/15 10:00:01 ERROR Executor: failed\njava.lang.IllegalStateException\n\tat a.B.c(B.java:1)\n\n"
        'Traceback (most recent call last):\n  File "job.py", line 1, in <module>\nValueError: bad\n'
    )
    lf, crlf = (parse_records(t.encode()).records for t in (text, text.replace("\n", "\r\n")))
    same_as_reference(tmp_path, text.replace("\n", "\r\n").encode())
    assert [(r.kind, r.level, r.lines) for r in crlf] == [(r.kind, r.level, r.lines) for r in lf]
