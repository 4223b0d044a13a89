"""Hostile inputs for this session's Datadog changes: the stand-in's counting check (msgspec,
Arrow's UTF-8 check, ISA-L gunzip) against the recording intake (json.loads), the column-wise
first-byte rules against the parser, and the urllib3 connection pool of the client."""

from __future__ import annotations

import pytest
from datadog_log_files import API_KEY, job_run, write_log
from test_datadog_columnar import CONTEXT, builder, columnwise, reference

from data_platform.local.datadog_intake import LocalDatadogIntake
from spark_jobs.datadog_logs.parser import KIND_TEXT, json_object, parse_records
from spark_jobs.datadog_logs.shipper import ship_job_run

HEADERS = {"DD-API-KEY": API_KEY}
DEEP = 5000
"""Nesting far beyond the ~1000 levels json and msgspec decode (whatever the caller's stack)."""


def _deep_json_line(escape: str = "") -> str:
    return '{"level": "INFO", "message": "m' + escape + '", "a": ' + "[" * DEEP + "]" * DEEP + "}"


# --- a JSON line nested too deep to decode -------------------------------------------------------


@pytest.mark.parametrize("escape", ["", "\\ud800"], ids=["msgspec", "json-fallback"])
def test_a_json_line_nested_too_deep_to_decode_is_a_plain_record(tmp_path, escape):
    """msgspec (and json, which takes what msgspec refuses: a lone surrogate escape) raise
    RecursionError, not a decode error, on a line nested deeper than ~1000 levels: the parse of the
    whole file crashed (reference and column-wise). The line is a plain record, kept as written."""
    line = _deep_json_line(escape)
    assert json_object(line) is None
    data = f"before\n{line}\nafter\n".encode()
    (record,) = [r for r in parse_records(data).records if r.line == 2]
    assert (record.kind, record.message) == (KIND_TEXT, line)
    fast, slow = builder(tmp_path), builder(tmp_path)
    assert columnwise(data, True, fast) == reference(data, True, slow)


def test_a_run_with_a_json_line_nested_too_deep_ships_every_line(tmp_path, intake, intake_server):
    line = _deep_json_line()
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stdout.gz", f"before\n{line}\nafter\n")
    result = ship_job_run(
        job_run(tmp_path / "logs", "run-1"),
        lake_root=f"file://{tmp_path}/lake",
        intake=intake,
        context=CONTEXT,
    )
    assert result.entries == 3
    assert [e["message"] for e in intake_server.events] == ["before", line, "after"]


@pytest.mark.parametrize("keep_events", [True, False], ids=["recording", "counting"])
def test_the_stand_in_answers_a_body_nested_too_deep_to_decode(keep_events):
    """The stand-in raised RecursionError in its handler: the connection dropped with no answer
    (the client retried it as if the intake were down). It answers 400, recording or counting."""
    server = LocalDatadogIntake((API_KEY,), keep_events=keep_events)
    body = b'[{"message": "m", "a": ' + b"[" * DEEP + b"]" * DEEP + b"}]"
    status, _, answer = server.handle_logs(HEADERS, body)
    assert (status, server.accepted_entries) == (400, 0)
    assert b"deeper" in answer
