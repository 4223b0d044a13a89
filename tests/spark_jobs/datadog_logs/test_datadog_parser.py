"""Log lines -> records: log4j, the jobs' JSON lines, stack traces kept whole, invalid UTF-8, offsets."""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import UTC, datetime

import pytest

from spark_jobs.common.logs import configure_json_logging, log_event
from spark_jobs.datadog_logs.gzip_text import CorruptLogFile, decompress_available
from spark_jobs.datadog_logs.parser import (
    KIND_JSON,
    KIND_LOG4J,
    KIND_TEXT,
    KIND_TRACEBACK,
    MAX_JSON_DEPTH,
    json_object,
    parse_records,
)

JAVA_TRACE = """26/01/15 10:00:01 INFO SparkContext: Running Spark version 3.5.6
26/01/15 10:00:02 ERROR Executor: Exception in task 0.0 in stage 1.0 (TID 1)
org.apache.spark.SparkException: Job aborted
\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2856)
\tat scala.collection.immutable.List.foreach(List.scala:431)
Caused by: java.io.IOException: No space left on device
\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)
\t... 12 more
2026-01-15 10:00:03,250 WARN [dispatcher-event-loop-1] org.apache.spark.storage.BlockManager: low memory
"""

PY_TRACE = """Traceback (most recent call last):
  File "/tmp/job.py", line 3, in <module>
    main()
KeyError: 'table'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/tmp/job.py", line 5, in <module>
    raise ValueError("bad table")
ValueError: bad table
printed by the job
"""


def test_log4j_records_keep_java_stack_traces_whole():
    records = parse_records(JAVA_TRACE.encode()).records
    assert [(r.kind, r.line, r.lines, r.level, r.logger) for r in records] == [
        (KIND_LOG4J, 1, 1, "INFO", "SparkContext"),
        (KIND_LOG4J, 2, 7, "ERROR", "Executor"),
        (KIND_LOG4J, 9, 1, "WARN", "org.apache.spark.storage.BlockManager"),
    ]
    assert records[1].text == "\n".join(JAVA_TRACE.splitlines()[1:8])
    assert records[0].timestamp_ms == int(datetime(2026, 1, 15, 10, 0, 1, tzinfo=UTC).timestamp() * 1000)
    assert records[2].thread == "dispatcher-event-loop-1"
    assert records[2].timestamp_ms == int(
        datetime(2026, 1, 15, 10, 0, 3, 250000, tzinfo=UTC).timestamp() * 1000
    )


def test_python_tracebacks_with_chained_exceptions_are_one_record():
    records = parse_records(PY_TRACE.encode()).records
    assert [(r.kind, r.lines) for r in records] == [(KIND_TRACEBACK, 11), (KIND_TEXT, 1)]
    assert records[0].text.endswith("ValueError: bad table") and records[0].level == "ERROR"
    assert records[1].text == "printed by the job"


def test_the_jobs_json_lines_are_read_back_without_loss(restore_root_logging):
    stream = io.StringIO()
    configure_json_logging("INFO", stream)
    logger = logging.getLogger("spark_jobs.test")
    log_event(logger, "table merged", table_id="shop.orders", inserted=3, level_name="x", thread="a field")
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logger.exception("failed")
    lines = stream.getvalue().splitlines()
    records = parse_records(stream.getvalue().encode()).records
    assert [r.kind for r in records] == [KIND_JSON, KIND_JSON]
    for line, record in zip(lines, records, strict=True):
        original = json.loads(line)
        rebuilt = {
            "ts": original["ts"],
            "level": record.level,
            "logger": record.logger,
            "thread": record.thread,
            "message": record.message,
            **(record.fields or {}),
        }
        assert rebuilt == original
    assert records[0].fields == {
        "table_id": "shop.orders",
        "inserted": 3,
        "level_name": "x",
        "fields": {"thread": "a field"},
    }
    assert "ValueError: boom" in records[1].fields["exception"]


def test_invalid_utf8_is_kept_with_replacement_characters():
    data = b"caf\xe9 latin-1\n\xff\xfe binary\nok \xe2\x82\xac\n"
    records = parse_records(data).records
    assert [r.text for r in records] == ["caf\ufffd latin-1", "\ufffd\ufffd binary", "ok \u20ac"]


def test_a_file_that_may_grow_holds_back_its_last_record_and_resumes_at_offsets():
    data = JAVA_TRACE.encode()
    whole = parse_records(data).records
    cut = len(data) - 40  # mid-way through the last line
    first = parse_records(data[:cut], final=False)
    assert [r.line for r in first.records] == [1]  # the trace may still grow; the WARN line is cut
    second = parse_records(data, first.end, first.next_line, final=True)
    assert [(r.line, r.text) for r in first.records + second.records] == [(r.line, r.text) for r in whole]
    assert first.records[0].end == second.records[0].start


def test_a_last_line_without_newline_ships_only_when_final():
    assert parse_records(b"one\ntwo", final=False).records == []
    assert [r.text for r in parse_records(b"one\ntwo", final=True).records] == ["one", "two"]


def test_truncated_and_concatenated_gzip_streams():
    import gzip

    one, two = gzip.compress(b"a\nb\n"), gzip.compress(b"c\n")
    assert decompress_available(one + two).data == b"a\nb\nc\n"
    cut = decompress_available((one + two)[:-5])
    assert not cut.complete and cut.data.startswith(b"a\nb\n")
    assert not decompress_available(b"").complete
    bad_crc = one[:-8] + bytes(4) + one[-4:]
    for corrupt in (b"not gzip at all", b"short!", bytes(40), one + b"garbage after a member", bad_crc):
        with pytest.raises(CorruptLogFile, match="x/stderr.gz"):
            decompress_available(corrupt, "x/stderr.gz")


def test_a_json_line_is_read_as_json_loads_reads_it():
    """The parser scans JSON lines with json's C scanner: it takes what json.loads takes, no more."""
    valid = '{"level": "INFO", "message": "m", "n": [1, {"x": null}]}'
    lines = {
        valid: True,
        valid + "  \r": True,  # JSON whitespace after the object (a CRLF file)
        valid + " {}": False,  # json.loads: extra data
        valid + " }": False,
        '{"level": "INFO", "message": "m",}': False,  # trailing comma
        '{"level": "INFO", "message": "m", "v": NaN}': False,  # not JSON: the intake would answer 400
        '{"level": "INFO", "message": "m", "v": -Infinity}': False,
        '{"message": "no level"}': False,
    }
    for line, is_json in lines.items():
        (record,) = parse_records(line.encode() + b"\n").records
        assert (record.kind == KIND_JSON) is is_json, line
        if is_json:
            assert record.message == "m"
            assert record.fields == {
                k: v for k, v in json.loads(line).items() if k not in ("level", "message")
            }
        else:
            assert record.text == line  # a plain record: kept as written


def _nested_line(depth: int, strings: str = "") -> str:
    return (
        '{"level": "INFO", "message": "m' + strings + '", "a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    )


def test_a_json_line_nested_deeper_than_the_limit_is_a_plain_record_whatever_the_stack():
    """Decoders stop at the recursion limit, which the caller's stack uses up: a fixed limit gives
    every caller the same answer (the line object itself is one level)."""
    at_limit, over = _nested_line(MAX_JSON_DEPTH), _nested_line(MAX_JSON_DEPTH + 1)
    # brackets inside strings do not nest
    quoted = _nested_line(MAX_JSON_DEPTH, strings='[[[{{{\\"' + "[" * 500)

    def from_depth(frames: int, line: str) -> bool:
        return json_object(line) is not None if frames == 0 else from_depth(frames - 1, line)

    limit = sys.getrecursionlimit()
    for frames in (0, limit - MAX_JSON_DEPTH - 100):
        assert (from_depth(frames, at_limit), from_depth(frames, over), from_depth(frames, quoted)) == (
            True,
            False,
            True,
        )
    (record,) = parse_records(f"{over}\n".encode()).records
    assert (record.kind, record.message) == (KIND_TEXT, over)
