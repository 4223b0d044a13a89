"""The intake client against the local stand-in: every answer of the documented API."""

from __future__ import annotations

import gzip
import json

import pytest
from datadog_log_files import API_KEY

from data_platform.local.datadog_intake import Fault, LocalDatadogIntake
from spark_jobs.datadog_logs.intake import IntakeRejected, IntakeUnavailable, LogsIntake, retry_after_seconds


def entries(n: int, size: int = 10) -> list[str]:
    return [
        json.dumps({"message": f"{i:06d}" + "x" * size, "ddsource": "spark", "service": "t"})
        for i in range(n)
    ]


def test_accepted_batches_are_gzip_and_recorded_once(intake, intake_server):
    intake.submit(entries(3))
    assert [e["message"][:6] for e in intake_server.events] == ["000000", "000001", "000002"]
    assert [(r.status, r.encoding) for r in intake_server.requests] == [(202, "gzip")]


@pytest.mark.parametrize("body", [b"", b"OK", b'{"status": "accepted"}'])
def test_a_202_is_accepted_whatever_its_body(body):
    with (
        LocalDatadogIntake((API_KEY,), accepted_body=body) as server,
        LogsIntake(API_KEY, host=server.url) as client,
    ):
        client.submit(entries(2))
        assert len(server.events) == 2 and client.requests == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_answers_are_retried_with_backoff(intake, intake_server, sleeps, status):
    intake_server.inject(Fault(status=status), Fault(status=status))
    intake.submit(entries(2))
    assert [r.status for r in intake_server.requests] == [status, status, 202]
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 1.0 - 1e-9 and all(s > 0 for s in sleeps)
    assert len(intake_server.events) == 2


def test_retry_after_is_honoured(intake, intake_server, sleeps):
    intake_server.inject(Fault(status=429, retry_after="7"), Fault(status=503, retry_after="3"))
    intake.submit(entries(1))
    assert sleeps == [7.0, 3.0]
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({"X-RateLimit-Reset": "12"}) == 12.0
    assert retry_after_seconds({}) is None


def test_a_slow_answer_is_retried_after_the_request_timeout(intake_server, sleeps):
    intake_server.inject(Fault(delay=2.0))
    with LogsIntake(API_KEY, host=intake_server.url, sleep=sleeps.append, request_timeout=0.5) as client:
        client.submit(entries(1))
    assert len(sleeps) == 1
    # the slow request may still have been accepted late: the intake holds it once or twice
    assert 1 <= len(intake_server.events) <= 2


def test_413_splits_the_batch_and_sends_the_halves(intake, intake_server):
    intake_server.inject(Fault(status=413), Fault(status=413))
    intake.submit(entries(8))
    assert [r.status for r in intake_server.requests] == [413, 413, 202, 202, 202]
    assert [r.entries for r in intake_server.requests if r.status == 202] == [2, 2, 4]
    assert sorted(e["message"][:6] for e in intake_server.events) == [f"{i:06d}" for i in range(8)]


def test_the_stand_in_answers_413_above_the_documented_limits(intake, intake_server):
    intake.submit(entries(1001))  # more than 1000 entries: split by the client after the 413
    assert intake_server.requests[0].status == 413
    assert len(intake_server.events) == 1001


@pytest.mark.parametrize("status", [400, 401, 403])
def test_refusals_fail_at_once_with_a_clear_message(intake, intake_server, sleeps, status):
    intake_server.inject(Fault(status=status))
    with pytest.raises(IntakeRejected, match=f"HTTP {status}"):
        intake.submit(entries(1))
    assert sleeps == [] and len(intake_server.requests) == 1


def test_a_wrong_api_key_is_refused_and_never_printed(intake_server):
    with (
        LogsIntake("wrong-key-value", host=intake_server.url) as client,
        pytest.raises(IntakeRejected) as err,
    ):
        client.submit(entries(1))
    assert "403" in str(err.value) and "wrong-key-value" not in str(err.value)
    assert intake_server.events == []


def test_an_intake_that_stays_unavailable_fails_after_the_retries(intake_server, sleeps):
    intake_server.inject(*[Fault(status=503)] * 3)
    with (
        LogsIntake(API_KEY, host=intake_server.url, sleep=sleeps.append, max_attempts=3) as client,
        pytest.raises(IntakeUnavailable, match="3 attempts"),
    ):
        client.submit(entries(1))
    assert len(sleeps) == 2


def test_an_unreachable_intake_is_retried_then_reported(sleeps):
    server = LocalDatadogIntake((API_KEY,)).start()
    url = server.url
    server.stop()
    with (
        LogsIntake(API_KEY, host=url, sleep=sleeps.append, max_attempts=2) as client,
        pytest.raises(IntakeUnavailable),
    ):
        client.submit(entries(1))
    assert len(sleeps) == 1


@pytest.mark.parametrize("keep_events", [True, False])
@pytest.mark.parametrize(
    ("body", "status", "counted"),
    [
        (b'[{"message": "a"}, {"message": "b"}]', 202, 2),
        (b' {"message": "one object"} ', 202, 1),
        (b'[ {"message": "\xc3\xa9t\xc3\xa9"} ,\n {} ]', 202, 2),
        (b'[{"message": "a"}, 3]', 400, 0),
        (b'[{"message": "a"},]', 400, 0),
        (b'[{"message": "\xff"}]', 400, 0),  # not UTF-8
        (b'[{"message": "a", "x": {"y": [1, {"z": "\xff"}]}}]', 400, 0),  # not UTF-8, deep inside
        (b'[{"message": "\\ud800 alone"}]', 202, 1),  # a lone surrogate escape: JSON, json reads it
        (b'[{"message": "a\tb"}]', 400, 0),  # a raw control character in a string
        (b'[{"message": "a", "n": NaN}]', 400, 0),  # json reads it; it is not JSON
        (b'[{"message": "a", "n": -Infinity}]', 400, 0),
        (b'[{"message": "a", "x": {"y": [1, {"z": true}]}}] x', 400, 0),
        (b"3", 400, 0),
        (b"[" + b",".join([b"{}"] * 1001) + b"]", 413, 0),
    ],
)
def test_the_stand_in_checks_bodies_alike_whether_recording_or_counting(keep_events, body, status, counted):
    """Without events to keep (the benchmark's intake) the body is checked with msgspec, not parsed:
    the answers must be the ones the recording intake (json.loads) gives."""
    server = LocalDatadogIntake((API_KEY,), keep_events=keep_events)
    headers = {"DD-API-KEY": API_KEY, "Content-Encoding": "gzip"}
    answer, _, _ = server.handle_logs(headers, gzip.compress(body))
    assert (answer, server.accepted_entries) == (status, counted)
    assert len(server.events) == (counted if keep_events else 0)


_GZIPPED = gzip.compress(b'[{"message": "' + b"x" * 2000 + b'"}]')


@pytest.mark.parametrize(
    "raw",
    [
        _GZIPPED[:-30],  # cut
        _GZIPPED[:12] + bytes(b ^ 0x5A for b in _GZIPPED[12:40]) + _GZIPPED[40:],  # corrupt deflate blocks
        b'[{"message": "not gzip"}]',
        _GZIPPED + b"\x1f\x8b",  # a second member, cut
    ],
    ids=["cut", "corrupt", "plain", "cut-second-member"],
)
def test_a_body_that_is_not_gzip_is_refused_with_400(raw):
    server = LocalDatadogIntake((API_KEY,))
    status, _, body = server.handle_logs({"DD-API-KEY": API_KEY, "Content-Encoding": "gzip"}, raw)
    assert (status, body) == (400, b'{"errors": ["body is not valid for its Content-Encoding"]}')


def test_a_body_of_several_gzip_members_is_one_body():
    """The gzip format allows several members (concatenated streams); each one's data follows the last."""
    server = LocalDatadogIntake((API_KEY,))
    raw = gzip.compress(b'[{"message": "a"},') + gzip.compress(b'{"message": "b"}]')
    status, _, _ = server.handle_logs({"DD-API-KEY": API_KEY, "Content-Encoding": "gzip"}, raw)
    assert (status, [e["message"] for e in server.events]) == (202, ["a", "b"])
