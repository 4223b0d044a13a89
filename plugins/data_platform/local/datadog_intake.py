"""A local stand-in for the Datadog logs intake (``POST /api/v2/logs``), for the demo and the tests.

It answers like the documented API (LogsApi.submit_log; FIELD-NOTES "Datadog logs intake"):
``DD-API-KEY`` checked (403 when missing or unknown), ``Content-Encoding: gzip|deflate`` decoded,
a JSON array (or one object) of entries, 413 above 5 MB uncompressed or 1000 entries, 400 for a
body that is not JSON entries (or not UTF-8), 202 ``{}`` when accepted. Accepted entries are
recorded (in memory and, with ``record_path``, one JSON line each) with ``_request`` (the
request's number) and two findings of the real intake: ``_truncated`` (entry over 1 MB) and
``_too_old`` (``timestamp`` more than 18 h in the past: the real intake does not keep those).
An intake that keeps no events and no record (``keep_events=False``, no ``record_path``: the
command line without ``--record``, the benchmark's) only counts them: it checks the body without
building the entries (UTF-8 by Arrow, JSON objects by ``msgspec`` skipping their members), about
a tenth of ``json.loads``' time, so it takes less of the CPU the shipper it measures runs on; a body
that check refuses is parsed by ``json.loads``, whose answer stands. Bodies are decompressed by
ISA-L, as the shipper reads log files (``decompress_available``).

Faults for tests: :meth:`LocalDatadogIntake.inject` queues answers for the next requests, e.g.
``Fault(status=429, retry_after="2")``, ``Fault(status=503)``, ``Fault(status=413)``,
``Fault(delay=1.5)`` (a slow answer, then the normal one). Over HTTP: ``POST /_faults`` with a
JSON list of such objects; ``GET /_events``; ``POST /_reset``.

    python -m data_platform.local.datadog_intake --port 18282 --api-key local-demo-key --record events.jsonl
"""

from __future__ import annotations

import argparse
import json
import struct
import threading
import time
import zlib
from collections import deque
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa

from spark_jobs.datadog_logs.gzip_text import CorruptLogFile, decompress_available

LOGS_PATH = "/api/v2/logs"
MAX_PAYLOAD_BYTES = 5 * 1024 * 1024
MAX_ENTRIES = 1000
MAX_ENTRY_BYTES = 1024 * 1024
MAX_AGE_MS = 18 * 3600 * 1000


@dataclass(frozen=True)
class Fault:
    """The answer to one request: ``status`` (None = the normal answer) after ``delay`` seconds."""

    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class RequestRecord:
    status: int
    entries: int
    encoding: str
    raw_bytes: int
    body_bytes: int
    api_key_ok: bool


class LocalDatadogIntake:
    """The stand-in server; ``with LocalDatadogIntake() as intake: intake.url``."""

    def __init__(
        self,
        api_keys: tuple[str, ...] = ("local-test-key",),
        *,
        port: int = 0,
        record_path: Path | None = None,
        keep_events: bool = True,
        accepted_body: bytes = b"{}",
    ) -> None:
        self.api_keys = set(api_keys)
        self.accepted_body = accepted_body  # Datadog answers 202 "{}"; tests try other bodies
        self.port = port
        self.record_path = record_path
        self.keep_events = keep_events
        self.events: list[dict[str, Any]] = []
        self.requests: list[RequestRecord] = []
        self.accepted_entries = 0
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._record_file: Any = None

    # --- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> LocalDatadogIntake:
        handler = type("Handler", (_Handler,), {"intake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        if self.record_path is not None:
            self.record_path.parent.mkdir(parents=True, exist_ok=True)
            self._record_file = self.record_path.open("a", encoding="utf-8")
        self._thread = threading.Thread(target=self._server.serve_forever, name="datadog-intake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._record_file is not None:
            self._record_file.close()
            self._record_file = None

    def __enter__(self) -> LocalDatadogIntake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- control --------------------------------------------------------------------------------
    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.events.clear()
            self.requests.clear()
            self.accepted_entries = 0

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    # --- the API --------------------------------------------------------------------------------
    def handle_logs(self, headers: Any, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        fault = self._next_fault()
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        encoding = (headers.get("Content-Encoding") or "identity").lower()
        key_ok = headers.get("DD-API-KEY") in self.api_keys
        status, extra, entries, body_bytes = self._answer(fault, key_ok, encoding, raw)
        with self._lock:
            self.requests.append(RequestRecord(status, len(entries), encoding, len(raw), body_bytes, key_ok))
            if status == 202:
                self._record(entries, body_bytes)
        body = (
            self.accepted_body
            if status == 202
            else json.dumps({"errors": [extra.pop("_error", "")]}).encode()
        )
        return status, extra, body

    def _answer(
        self, fault: Fault | None, key_ok: bool, encoding: str, raw: bytes
    ) -> tuple[int, dict[str, str], list[Any], int]:
        if fault is not None and fault.status is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return fault.status, {**extra, "_error": f"injected {fault.status}"}, [], 0
        if not key_ok:
            return 403, {"_error": "Forbidden: invalid or missing DD-API-KEY"}, [], 0
        try:
            if encoding == "gzip":
                body = _gunzip(raw)
            elif encoding == "deflate":
                body = zlib.decompress(raw)
            elif encoding == "identity":
                body = raw
            else:
                return 415, {"_error": f"unsupported Content-Encoding {encoding}"}, [], 0
        except (EOFError, zlib.error, CorruptLogFile):
            return 400, {"_error": "body is not valid for its Content-Encoding"}, [], 0
        if len(body) > MAX_PAYLOAD_BYTES:
            return 413, {"_error": f"payload of {len(body)} bytes exceeds {MAX_PAYLOAD_BYTES}"}, [], len(body)
        counting = not self.keep_events and self.record_path is None
        try:
            entries = _checked_entries(body) if counting else _entries(body)
        except ValueError:
            return 400, {"_error": "body is not JSON (UTF-8)"}, [], len(body)
        except RecursionError:  # json and msgspec stop at ~1000 levels: an answer, not a dropped connection
            return 400, {"_error": "body nests values deeper than the stand-in decodes"}, [], len(body)
        if len(entries) > MAX_ENTRIES:
            return 413, {"_error": f"{len(entries)} entries exceed {MAX_ENTRIES}"}, [], len(body)
        if not {*map(type, entries)} <= {dict, _Entry}:  # JSON objects (json.loads makes no dict subclass)
            return 400, {"_error": "entries must be JSON objects"}, [], len(body)
        return 202, {}, entries, len(body)

    def _record(self, entries: list[Any], body_bytes: int) -> None:
        self.accepted_entries += len(entries)
        if not self.keep_events and self._record_file is None:
            return  # counted only (the benchmark's intake): no notes to add
        request = len(self.requests)
        now_ms = int(time.time() * 1000)
        may_be_large = body_bytes > MAX_ENTRY_BYTES  # no entry of a smaller body can exceed the limit
        for entry in entries:
            entry["_request"] = request
            if may_be_large and len(json.dumps(entry)) > MAX_ENTRY_BYTES:
                entry["_truncated"] = True
            timestamp = entry.get("timestamp")
            if isinstance(timestamp, (int, float)) and timestamp < now_ms - MAX_AGE_MS:
                entry["_too_old"] = True
            if self._record_file is not None:
                self._record_file.write(json.dumps(entry) + "\n")
        if self._record_file is not None:
            self._record_file.flush()
        if self.keep_events:
            self.events.extend(entries)


def _gunzip(raw: bytes) -> bytes:
    """A gzip body, every member (the format allows several), decompressed as the shipper reads log
    files. :raises EOFError: cut short (or empty). :raises CorruptLogFile: not gzip, or damaged."""
    body = decompress_available(raw, "the request body")
    if not body.complete:
        raise EOFError("the gzip stream is cut short")
    return body.data


def _check_utf8(body: bytes) -> None:
    """:raises pyarrow.ArrowInvalid: ``body`` is not UTF-8 (Arrow's validation, about 15 GB/s, on
    the body as the one value of a string array made from its buffer: not copied, and not through
    ``pa.array``, which in a handler thread tried to import pandas on every call, 5x the cost)."""
    offsets = pa.py_buffer(struct.pack("<2i", 0, len(body)))
    pa.StringArray.from_buffers(1, offsets, pa.py_buffer(body)).validate(full=True)


def _entries(body: bytes) -> list[Any]:
    """The body's entries as JSON values. :raises ValueError: not JSON (UTF-8; ``NaN`` and
    ``Infinity``, which ``json`` would read, are not JSON either)."""
    parsed = json.loads(body, parse_constant=_not_json, parse_int=_json_int)
    return parsed if isinstance(parsed, list) else [parsed]


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON (RFC 8259 has no such number)")


def _json_int(digits: str) -> int | float:
    """A JSON integer; one of more digits than Python converts (4300, ``sys.get_int_max_str_digits``)
    is JSON all the same: it is accepted and recorded as a float (infinite when beyond a double)."""
    try:
        return int(digits)
    except ValueError:
        return float(digits)


class _Entry(msgspec.Struct):
    """Any JSON object: decoded into this, an entry is checked (its members skipped), not built."""


_ENTRY_ARRAY = msgspec.json.Decoder(list[_Entry])
_ENTRY = msgspec.json.Decoder(_Entry)


def _checked_entries(body: bytes) -> list[Any]:
    """The body's entries as :func:`_entries` finds them, not built when they are all JSON objects
    (then one empty :class:`_Entry` each): UTF-8 checked by Arrow, the JSON by msgspec. A body this
    check refuses goes to :func:`_entries`, whose answer stands (msgspec is also stricter: it
    refuses a lone surrogate escape, ``"\\ud800"``, which ``json`` reads).

    :raises ValueError: not JSON, or not UTF-8.
    """
    try:
        if not body.isascii():
            _check_utf8(body)
        if body.lstrip()[:1] == b"[":
            return _ENTRY_ARRAY.decode(body)
        return [_ENTRY.decode(body)]
    except (pa.ArrowInvalid, msgspec.DecodeError):
        return _entries(body)


class _Handler(BaseHTTPRequestHandler):
    intake: LocalDatadogIntake
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return  # quiet: the intake records requests itself

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        raw = self._body()
        path = self.path.split("?", 1)[0]
        if path == LOGS_PATH:
            status, headers, body = self.intake.handle_logs(self.headers, raw)
            self._reply(status, body, headers)
        elif path == "/_faults":
            self.intake.inject(*(Fault(**f) for f in json.loads(raw or b"[]")))
            self._reply(200, b"{}")
        elif path == "/_reset":
            self.intake.reset()
            self._reply(200, b"{}")
        else:
            self._reply(404, b'{"errors": ["not found"]}')

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/_events":
            self._reply(200, json.dumps(self.intake.events).encode())
        elif self.path == "/_requests":
            self._reply(200, json.dumps([asdict(r) for r in self.intake.requests]).encode())
        else:
            self._reply(404, b'{"errors": ["not found"]}')


def read_recorded_events(record_path: Path) -> list[dict[str, Any]]:
    """The entries a stand-in recorded to ``record_path`` (one JSON object per line)."""
    if not record_path.exists():
        return []
    return [json.loads(line) for line in record_path.read_text(encoding="utf-8").splitlines() if line]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18282)
    parser.add_argument("--api-key", action="append", required=True)
    parser.add_argument("--record", type=Path, default=None, help="append accepted entries here (JSON lines)")
    args = parser.parse_args(argv)
    intake = LocalDatadogIntake(
        tuple(args.api_key), port=args.port, record_path=args.record, keep_events=False
    )
    intake.start()
    print(f"Datadog logs intake stand-in on {intake.url}{LOGS_PATH}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        intake.stop()


if __name__ == "__main__":
    raise SystemExit(main())
