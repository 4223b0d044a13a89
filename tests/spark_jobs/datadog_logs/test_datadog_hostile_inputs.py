"""Hostile inputs: JSON lines nested too deep, the intake stand-in's counting check (msgspec,
Arrow's UTF-8 check, ISA-L gunzip) against the recording one (json.loads), the column-wise
first-byte rules against the parser, the client's urllib3 connection pool, and hostile runs
stopped part way and shipped again."""

from __future__ import annotations

import gzip
import json
import random
import threading
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from datadog_log_files import API_KEY, job_run, write_log
from test_datadog_columnar import CONTEXT, builder, columnwise, reference
from test_datadog_columnar_breaker import checked_batches

from data_platform.local.datadog_intake import Fault, LocalDatadogIntake, _gunzip
from spark_jobs.datadog_logs import columnar
from spark_jobs.datadog_logs.intake import IntakeRejected, LogsIntake
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


# --- the counting stand-in answers as the recording one, for any body ------------------------------

_STRINGS = [
    "",
    "a",
    "é",
    "\u2028",
    "\ud800",
    "\udc00",
    "\U0001f600",
    "\x00",
    "\x1f",
    "\x7f",
    '"',
    "\\",
    "NaN",
    "\ufeff",
]
_SPLICES = [
    b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x80", b"\xef\xbb\xbf", b"\x00",
    b" ", b"\x0b", b"\x0c", b"\x1c", b"\t", b"\r\n", b",", b"]", b"}", b"[", b"{", b'"', b"\\", b"\\u",
    b"\\ud800", b"NaN", b"-Infinity", b"1e999", b"00000", b"true", b"tru", b"01", b"-", b".5", b"1.", b"+1",
]  # fmt: skip


def _value(rng: random.Random, depth: int) -> object:
    draw = rng.random()
    if depth > 3 or draw < 0.3:
        text = "".join(rng.choice(_STRINGS) for _ in range(rng.randrange(4)))
        return rng.choice([None, True, False, 0, -1, 10 ** rng.randrange(1, 30), 1.5, -2.5e-300, 1e308, text])
    if draw < 0.6:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {"".join(rng.choice(_STRINGS) for _ in range(2)): _value(rng, depth + 1) for _ in range(3)}


def _hostile_body(rng: random.Random) -> bytes:
    """A JSON text of entries (mostly), written compact or spread, ASCII or not, then spliced with
    bytes that break it (not UTF-8, overlong, encoded surrogates, BOM, NaN, cut tokens...)."""
    shape = rng.random()
    if shape < 0.7:
        value: object = [
            {"message": _value(rng, 1)} if rng.random() < 0.9 else _value(rng, 1)
            for _ in range(rng.choice([0, 1, 2, 5]))
        ]
    else:
        value = {"message": _value(rng, 1)} if shape < 0.9 else _value(rng, 0)
    separators = rng.choice([(",", ":"), (", ", ": "), (" ,\n", "\t:\r")])
    body = json.dumps(value, ensure_ascii=rng.random() < 0.5, separators=separators).encode(
        "utf-8", "surrogatepass"
    )
    for _ in range(rng.choice([0, 0, 1, 2])):
        at, splice = rng.randrange(len(body) + 1), rng.choice(_SPLICES)
        body = rng.choice([body[:at] + splice + body[at:], body[:at] + body[at + 1 :], body[:at]])
    return body


def _answers(body: bytes, encoding: str = "identity") -> list[tuple[int, int]]:
    """(status, entries counted) of the recording stand-in and of the counting one."""
    answers = []
    for keep_events in (True, False):
        server = LocalDatadogIntake((API_KEY,), keep_events=keep_events)
        status, _, _ = server.handle_logs({**HEADERS, "Content-Encoding": encoding}, body)
        answers.append((status, server.accepted_entries))
    return answers


def test_the_counting_stand_in_answers_random_hostile_bodies_as_the_recording_one():
    rng = random.Random(4)
    statuses = set()
    for _ in range(3000):
        body = _hostile_body(rng)
        recording, counting = _answers(body)
        assert counting == recording, body
        statuses.add(recording[0])
    assert statuses == {202, 400}  # both answers drawn


@pytest.mark.parametrize(
    "body",
    [
        b'[{"s": "\xed\xa0\x80"}]',  # a surrogate encoded in UTF-8: json reads it (surrogatepass)
        b'\xef\xbb\xbf[{"s": 1}]',  # a UTF-8 BOM: json reads it
        '[{"s": "é"}]'.encode("utf-16"),  # json detects UTF-16 and UTF-32
        '[{"s": 1}]'.encode("utf-32-le"),
        b'[{"s": "\xc0\x80"}]',  # overlong
        b'[{"s": "\xf4\x90\x80\x80"}]',  # beyond U+10FFFF
        b'[{"a": {"b": [{"c": "' + b"x" * 3000 + b'\xe2\x82"}]}}]',  # a cut character deep inside
        b'[{"s": 1, "s": 2}]',
        b'[{"n": 1e400}, {"n": -0}, {"n": 1E+2}]',
        b"[" + b",".join([b"{}"] * 1000) + b"]",
        b"[" + b",".join([b"{}"] * 1000) + b",1]",
        b"[]",
        b" \t\r\n[ \t\r\n{ }\t]\r\n",
        b"\x0b[{}]",
        b"[{}]\x0c",
        b"[[{}]]",
        b'"x"',
        b"null",
        b"",
    ],
)
def test_the_counting_stand_in_answers_edge_bodies_as_the_recording_one(body):
    recording, counting = _answers(body)
    assert counting == recording
    assert _answers(gzip.compress(body), "gzip") == [recording, recording]


def test_an_integer_of_4301_digits_gets_one_answer_recording_or_counting():
    """json.loads refused an integer of more than 4300 digits (Python's int-string limit: 400)
    which msgspec skips (202); it is JSON: both accept it."""
    recording, counting = _answers(b'[{"message": "m", "n": ' + b"7" * 4301 + b"}]")
    assert counting == recording
    assert recording[0] == 202


def _gzip_members(rng: random.Random, body: bytes) -> bytes:
    cuts = sorted(rng.randrange(len(body) + 1) for _ in range(rng.randrange(3)))
    parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    return b"".join(gzip.compress(part, mtime=0) for part in parts)


def test_the_stand_in_gunzips_as_the_gzip_module_does():
    """The shipper's ISA-L decompression, every member: the same body as gzip.decompress, and a
    refusal (400) where it refuses, for bodies of 1-3 members, cut, with trailing zeros or garbage,
    empty members, and a flipped byte anywhere (the trailer's CRC and size are checked)."""
    rng = random.Random(11)
    outcomes = set()
    for _ in range(600):
        raw = _gzip_members(rng, _hostile_body(rng))
        mutation = rng.randrange(5)
        if mutation == 1:
            raw = raw[
                : rng.randrange(1, len(raw))
            ]  # (an empty body: gzip reads b"", ISA-L refuses; both 400)
        elif mutation == 2:
            at = rng.randrange(10, len(raw))  # not the header: its flags and the stream both change
            raw = raw[:at] + bytes([raw[at] ^ (1 << rng.randrange(8))]) + raw[at + 1 :]
        elif mutation == 3:
            raw += rng.choice([b"\x00" * rng.randrange(1, 9), b"garbage", gzip.compress(b"")])
        try:
            expected: bytes | None = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            expected = None
        try:
            got: bytes | None = _gunzip(raw)
        except (EOFError, ValueError):
            got = None
        assert got == expected, raw
        outcomes.add(expected is None)
    assert outcomes == {True, False}


# --- column-wise first-byte rules against the parser ----------------------------------------------

_LINE_PARTS = [
    b"0 Caused by: x", b"{ at x", b"9\tat y", b"{", b"{}", b"[1]", b'"quoted"', b"\\back", b"x\\", b'x"', b'"', b"\\",
    b"\x00", b"\x1f", b"\x7f", b"\x0b", b"\x0c", b"\x1b[0m", b"\r", b" ", b"\t", b"  \t ", b"",
    b'{"message": "m", "level": "INFO"}', b'{"message": 1, "level": "INFO"}', b'{"level": "INFO"}',
    b'{"level":"INFO","message":"x"}\r', b'{"level": "INFO", "message": "a\\u0000b\\"c"} ',
    b"Traceback (most recent call last):", b"Traceback (most recent call last):\r", b'  File "x", line 1',
    b"\tat a.B(C.java:1)", b"ValueError: bad", b"ValueError: bad\r", b"ValueError", b"a.b.CustomError: x",
    b"java.lang.RuntimeException: boom", b"Caused by: z", b": colon", b"Suppressed: s", b"Py4JJavaError: x",
    b"During handling of the above exception, another exception occurred:",
    b"26/01/15 10:00:01 INFO SparkContext: hi", b"2026-01-15 10:00:03,250 WARN [t] org.X: w",
    b"\xff", b"\xe2\x82", b"\xc0\x80", b"\xed\xa0\x80", b"caf\xc3\xa9", b"\xef\xbb\xbf", b"\xe2\x80\xa8",
    b"plain text", b"T", b"123",
]  # fmt: skip
"""Line shapes (and pieces of lines) aimed at the first-byte rules: digits and ``{`` before what
would otherwise continue a record, tracebacks and Python exception lines after indented lines,
bytes JSON escapes at line starts and ends, bytes that are not UTF-8 at line starts and before
newlines."""


def _first_byte_text(rng: random.Random) -> bytes:
    lines = []
    for _ in range(rng.randrange(1, 30)):
        count = rng.choice([1, 1, 1, 2, 3])
        lines.append(b"".join(rng.choice(_LINE_PARTS) for _ in range(count)))
    end = b"\r\n" if rng.random() < 0.2 else b"\n"
    return end.join(lines) + rng.choice([end, end, b""])


@pytest.mark.parametrize("seed", range(5))
def test_texts_aimed_at_the_first_byte_rules_give_the_references_batches(tmp_path, monkeypatch, seed):
    """Whole (final), cut at a random byte (not final, and final), resumed from every checkpoint,
    in pieces of a few bytes (records across piece ends) and in small batches."""
    rng = random.Random(seed)
    monkeypatch.setattr(columnar, "MAX_ENTRIES_PER_REQUEST", rng.choice([1000, 3]))
    for _ in range(20):
        monkeypatch.setattr(columnar, "PIECE_BYTES", rng.choice([columnar.PIECE_BYTES, 1, 7, 64]))
        data = _first_byte_text(rng)
        cut = data[: rng.randrange(len(data) + 1)]
        for text, final in ((data, True), (cut, False), (cut, True)):
            for offset, next_line in checked_batches(tmp_path, text, 0, 1, final):
                checked_batches(tmp_path, text, offset, next_line, final)


# --- the client's connection pool ---------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Records each request's path; drops the connection (no answer) for the first ``drops`` ones."""

    protocol_version = "HTTP/1.1"
    paths: list[str]
    drops: list[int]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.paths.append(self.path)
        if self.drops[0]:
            self.drops[0] -= 1
            self.close_connection = True
            return
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def _recorder(drops: int = 0) -> tuple[ThreadingHTTPServer, list[str]]:
    paths: list[str] = []
    handler = type("Handler", (_Recorder,), {"paths": paths, "drops": [drops]})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, paths


@pytest.mark.parametrize("prefix", ["/dd", "/proxy/datadog/"])
def test_a_host_with_a_path_prefix_keeps_it(prefix):
    """A proxy in front of the intake: the request goes to the prefix plus /api/v2/logs."""
    server, paths = _recorder()
    try:
        with LogsIntake(API_KEY, host=f"http://127.0.0.1:{server.server_address[1]}{prefix}") as client:
            client.submit(['{"message": "a"}'])
    finally:
        server.shutdown()
        server.server_close()
    assert paths == [prefix.rstrip("/") + "/api/v2/logs"]


def test_a_dropped_connection_is_retried_on_a_pool_of_one_connection(sleeps):
    """The intake closes the connection without answering, twice: urllib3 raises (its retries are
    off), the client waits and resends; the pool of one connection (block=True) gets its place
    back each time (else the next request would wait for it forever)."""
    server, paths = _recorder(drops=2)
    done: list[bool] = []

    def send() -> None:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with LogsIntake(API_KEY, host=url, sleep=sleeps.append, max_connections=1) as client:
            client.submit(['{"message": "a"}'])
            client.submit(['{"message": "b"}'])
        done.append(True)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    sender.join(60)  # a guard against a pool that never gets its connection back
    server.shutdown()
    server.server_close()
    assert (done, len(sleeps), len(paths)) == ([True], 2, 4)


def test_threads_sharing_one_client_send_every_entry_once_through_its_few_connections(intake_server):
    """8 threads share one LogsIntake of 2 connections (block=True) while the intake answers 503
    and 429 now and then: every entry arrives once, no more than 2 connections are opened, the
    counters add up."""
    intake_server.inject(*[Fault(status=503)] * 5, *[Fault(status=429, retry_after="0")] * 3)
    errors: list[BaseException] = []
    with LogsIntake(
        API_KEY, host=intake_server.url, sleep=lambda _: None, max_connections=2, request_timeout=30
    ) as client:

        def send(thread: int) -> None:
            try:
                for batch in range(20):
                    client.submit([json.dumps({"message": f"{thread}-{batch}-{i}"}) for i in range(3)])
            except BaseException as err:  # noqa: BLE001 - reported by the assertion below
                errors.append(err)

        threads = [threading.Thread(target=send, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        opened = client._pool.num_connections
    messages = sorted(e["message"] for e in intake_server.events)
    expected = sorted(f"{t}-{b}-{i}" for t in range(8) for b in range(20) for i in range(3))
    assert (errors, messages) == ([], expected)
    assert opened <= 2 and (client.requests, client.retries) == (160 + 8, 8)


# --- a new user's runs: shipped twice, stopped part way and rerun --------------------------------

_FILES = ["SPARK_DRIVER/stderr.gz", "SPARK_DRIVER/stdout.gz", "SPARK_EXECUTOR/1/stderr.gz"]


@pytest.mark.parametrize("seed", range(3))
def test_a_hostile_run_stopped_part_way_then_rerun_and_shipped_again_holds_every_record_once(
    tmp_path, intake, intake_server, monkeypatch, seed
):
    """Three files of texts aimed at the first-byte rules, shipped three at a time in batches of 3;
    the intake refuses the 5th request (the run stops), the rerun ships the rest, a third run
    ships nothing: the intake holds each record (file, first line) of the parser exactly once."""
    rng = random.Random(seed)
    monkeypatch.setattr(columnar, "MAX_ENTRIES_PER_REQUEST", 3)
    monkeypatch.setattr(columnar, "PIECE_BYTES", rng.choice([columnar.PIECE_BYTES, 64]))
    expected: Counter[tuple[str, int]] = Counter()
    for relative in _FILES:
        data = b"\n".join(_first_byte_text(rng) for _ in range(4)) + b"\n"
        write_log(tmp_path / "logs", "run-1", relative, data)
        expected.update((relative, record.line) for record in parse_records(data).records)

    def ship() -> int:
        run = job_run(tmp_path / "logs", "run-1")
        options = {"lake_root": f"file://{tmp_path}/lake", "intake": intake, "context": CONTEXT}
        return ship_job_run(run, final=True, concurrent_requests=3, **options).entries

    intake_server.inject(*[Fault()] * 4, Fault(status=400))
    with pytest.raises(IntakeRejected):
        ship()
    stopped = len(intake_server.events)
    assert 0 < stopped < sum(expected.values())
    assert ship() == sum(expected.values()) - stopped
    assert ship() == 0
    got = Counter((e["emr"]["log_file"], e["emr"]["line"]) for e in intake_server.events)
    assert got == expected
