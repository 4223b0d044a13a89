"""Records -> entries: request limits, JSON lines read back whole, compact JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from datadog_log_files import job_run, write_log

from spark_jobs.datadog_logs.entries import EntryBuilder, RunContext, json_line_of, serialize
from spark_jobs.datadog_logs.layout import LogFile, parse_relative_path
from spark_jobs.datadog_logs.parser import KIND_JSON, LogText, scan_records
from spark_jobs.datadog_logs.shipper import ship_job_run

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CONTEXT = RunContext("tiny", "tiny", "test", "data, eng", {"owner": 'jane "jd" doe'})


def log_file(tmp_path) -> LogFile:
    parts = parse_relative_path("SPARK_DRIVER/stderr.gz") or {}
    return LogFile(
        job_run(tmp_path, "run-1"), "SPARK_DRIVER/stderr.gz", size=0, fingerprint="", modified=NOW, **parts
    )


@pytest.mark.parametrize("limit", [1500, 4000])
def test_requests_stay_within_the_byte_limit_and_every_line_arrives_once(
    tmp_path, intake, intake_server, monkeypatch, limit
):
    monkeypatch.setattr("spark_jobs.datadog_logs.columnar.MAX_REQUEST_BYTES", limit)
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
