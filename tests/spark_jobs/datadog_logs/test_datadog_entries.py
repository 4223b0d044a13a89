"""Records -> entries: the JSON put together for log4j and plain records is the dict path's JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from datadog_log_files import job_run, write_log

from spark_jobs.datadog_logs.entries import EntryBuilder, RunContext, json_line_of, serialize
from spark_jobs.datadog_logs.layout import LogFile, parse_relative_path
from spark_jobs.datadog_logs.parser import KIND_JSON, KIND_LOG4J, KIND_TEXT, LogText, record_of, scan_records
from spark_jobs.datadog_logs.shipper import ship_job_run

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CONTEXT = RunContext("tiny", "tiny", "test", "data, eng", {"owner": 'jane "jd" doe'})
LINES = [
    '26/01/15 10:00:01 INFO SparkContext: Running "quoted" \\ back\tslash',
    "2026-01-15 10:00:03,250 WARN [dispatcher-event-loop-1] org.apache.BlockManager: low memory",
    "2026-01-15T10:00:03.5 ERROR [main] Executor: failed",
    "java.lang.IllegalStateException: boom",
    "\tat a.B.c(B.java:1)",
    "26/01/13 10:00:01 INFO Old: older than the intake keeps",
    "printed caf\u00e9 \u20ac \U0001f600",
    "",
    '{"ts": "2026-01-15T10:00:04+00:00", "level": "INFO", "logger": "spark_jobs.x", "message": "m", "n": 1}',
]


def log_file(tmp_path) -> LogFile:
    parts = parse_relative_path("SPARK_DRIVER/stderr.gz") or {}
    return LogFile(
        job_run(tmp_path, "run-1"), "SPARK_DRIVER/stderr.gz", size=0, fingerprint="", modified=NOW, **parts
    )


def test_log4j_and_plain_entries_equal_the_dict_path(tmp_path):
    log = LogText("\n".join(LINES).encode() + b"\n")
    fast = EntryBuilder(CONTEXT, log_file(tmp_path), int(NOW.timestamp() * 1000))
    slow = EntryBuilder(CONTEXT, log_file(tmp_path), int(NOW.timestamp() * 1000))
    line, kinds = 1, []
    for kind, start, end, detail in scan_records(log):
        record = record_of(log, kind, start, end, detail, line)
        if kind == KIND_JSON:
            (built,) = fast.json_line(detail, line)
            assert json_line_of(json.loads(built)) == json.loads(LINES[-1])
        else:
            message = log.text[start : end - 1]
            built = fast.log4j(detail, message, line) if kind == KIND_LOG4J else fast.text(message, line)
            assert built.isascii() and json.loads(built) == slow.entry(record)
        kinds.append(kind)
        line += record.lines
    assert kinds == [KIND_LOG4J] * 3 + [KIND_LOG4J, KIND_TEXT, KIND_JSON]
    assert fast.late == slow.late == 1


@pytest.mark.parametrize("limit", [1500, 4000])
def test_requests_stay_within_the_byte_limit_and_every_line_arrives_once(
    tmp_path, intake, intake_server, monkeypatch, limit
):
    monkeypatch.setattr("spark_jobs.datadog_logs.shipper.MAX_REQUEST_BYTES", limit)
    stamp = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%y/%m/%d %H:%M:%S")
    lines = [f"{stamp} INFO Task: line {i} " + "x" * (i % 200) for i in range(300)]
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", "\n".join(lines) + "\n")
    result = ship_job_run(
        job_run(tmp_path / "logs", "run-1"), lake_root=f"file://{tmp_path}/lake", intake=intake,
        context=CONTEXT, final=True,
    )  # fmt: skip
    assert result.requests == len(intake_server.requests) > 1
    assert all(r.body_bytes <= limit for r in intake_server.requests)
    assert [e["message"] for e in intake_server.events] == lines
    assert [e["emr"]["line"] for e in intake_server.events] == list(range(1, 301))


def test_json_lines_come_back_whole_from_their_entries(tmp_path):
    line = {"ts": "2026-01-15T10:00:04+00:00", "level": "ERROR", "logger": "a", "message": "m",
            "exception": None, "status": "a field named like an attribute", "rows": [1, 2]}  # fmt: skip
    log = LogText((json.dumps(line) + "\n").encode())
    ((kind, _, _, detail),) = scan_records(log)
    builder = EntryBuilder(CONTEXT, log_file(tmp_path), int(NOW.timestamp() * 1000))
    (entry,) = builder.json_line(detail, 1)
    assert kind == KIND_JSON and json_line_of(json.loads(entry)) == line


def test_serialize_is_compact_ascii_json():
    entry = {
        "message": 'caf\u00e9 "q" \\ \n\t \U0001f600 \udcff',
        "n": [1, 2.5, -0.0, 10**20, None, True, False],
        "nested": {"a": {"b": []}, "e": {}},
        "big": 1e300,
        1: "int key",
    }
    assert serialize(entry) == json.dumps(entry, separators=(",", ":"))
    assert serialize(entry).isascii()
    with pytest.raises(ValueError, match="Out of range"):
        serialize({"x": float("nan")})
