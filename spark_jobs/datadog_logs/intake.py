"""Send batches of entries to the Datadog logs intake: the documented HTTP API (``POST /api/v2/logs``).

Answers (Datadog "Send logs" API, FIELD-NOTES "Datadog logs intake"): 202 accepted (any 2xx,
whatever its body); 408, 429 and 5xx are retried with exponential backoff (``Retry-After``
honoured when sent, also ``X-RateLimit-Reset``), as are connection errors and slow answers
(request timeout); 413 splits the batch in halves and sends each; 400, 401 and 403 fail at once
with :class:`IntakeRejected` (a bad payload or API key does not get better by retrying).

The request body is the entries (already JSON texts in an Arrow array, see
:mod:`~spark_jobs.datadog_logs.columnar`) joined into one JSON array,
gzip-compressed (``Content-Encoding: gzip``) by ISA-L (``isal``: the gzip format zlib writes;
0.015 against zlib's 0.11 s for 31 MB of entries at level 1; it releases the GIL, so the next
batch is parsed meanwhile), sent with ``urllib3`` (one pool of keep-alive connections shared by
the sender threads, at most ``max_connections``, its own retries off).
``datadog-api-client``'s LogsApi.submit_log sends the same request, but its model walk before
``json.dumps`` costs about 40 us per entry, several times the rest of the pipeline
(``python -m benchmarks datadog_logs`` measures both).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

RETRY_STATUSES = frozenset({408, 429})
FATAL_STATUSES = frozenset({400, 401, 403})
MAX_BACKOFF_SECONDS = 120.0
DEFAULT_SITE = "datadoghq.com"
LOGS_PATH = "/api/v2/logs"
DEFAULT_CONCURRENT_REQUESTS = 6
"""Requests in flight at once per shipped run (one per log file). The intake documents per-request
limits, not a concurrency limit; its rate limit answers 429 with Retry-After, which every sender
honours. The Datadog Agent sends logs batches concurrently too (``logs_config.batch_max_concurrent_send``)."""
GZIP_LEVEL = 1
"""ISA-L's fast level (0-3; 1 compresses better than zlib's level 1): the intake limit (5 MB) is on
the uncompressed payload, not on the wire."""


class IntakeError(Exception):
    """The intake did not accept a batch."""


class IntakeRejected(IntakeError):
    """400/401/403 (or a single entry answered 413): not retried."""


class IntakeUnavailable(IntakeError):
    """Still 408/429/5xx or unreachable after every retry."""


def retry_after_seconds(headers: Any, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset``; None if absent."""
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value:
        value = str(value).strip()
        if value.replace(".", "", 1).isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    reset = headers.get("X-RateLimit-Reset") or headers.get("x-ratelimit-reset")
    if reset and str(reset).replace(".", "", 1).isdigit():
        return float(reset)
    return None


def intake_url(host: str | None = None, site: str | None = None) -> str:
    """The logs intake endpoint: ``host`` (a stand-in, a proxy) or the site's
    ``https://http-intake.logs.{site}``, plus ``/api/v2/logs``."""
    base = host.rstrip("/") if host else f"https://http-intake.logs.{site or DEFAULT_SITE}"
    return base + LOGS_PATH


class LogsIntake:
    """The Datadog logs intake of one site (``datadoghq.eu``...) or at ``host`` (a stand-in)."""

    def __init__(
        self,
        api_key: str,
        *,
        site: str | None = None,
        host: str | None = None,
        max_attempts: int = 8,
        backoff_seconds: float = 1.0,
        request_timeout: float = 60.0,
        max_connections: int = DEFAULT_CONCURRENT_REQUESTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import urllib3

        if not api_key:
            raise IntakeRejected("No Datadog API key: set the datadog secret (see README, Datadog logs).")
        self.url = intake_url(host, site)
        self._headers = {
            "DD-API-KEY": api_key,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Accept": "application/json",
        }
        self._path = urllib3.util.parse_url(self.url).request_uri
        self._pool = urllib3.connection_from_url(  # the one host's pool (no PoolManager lookup per request)
            self.url,
            maxsize=max_connections,
            block=True,
            retries=False,
            timeout=urllib3.Timeout(total=request_timeout),
        )
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self.splits = 0
        self._counting = threading.Lock()  # the counters are shared by the sender threads

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> LogsIntake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, entries: pa.StringArray | Sequence[str]) -> None:
        """Send ``entries`` (each one entry's JSON object as text) until the intake accepted all of
        them (413: in smaller requests)."""
        if not isinstance(entries, pa.Array):
            entries = pa.array(entries, pa.string())
        if not len(entries):
            return
        status = self._send_with_retries(entries)
        if status == 413:
            if len(entries) == 1:
                raise IntakeRejected(
                    "The intake answered 413 (payload too large) for a single entry of "
                    f"{len(entries[0].as_py().encode())} bytes; lower MAX_ENTRY_BYTES in entries.py."
                )
            with self._counting:
                self.splits += 1
            half = len(entries) // 2
            self.submit(entries[:half])
            self.submit(entries[half:])

    def _send_with_retries(self, entries: pa.StringArray) -> int:
        from urllib3.exceptions import HTTPError

        compressor = isal_zlib.compressobj(GZIP_LEVEL, wbits=16 + isal_zlib.MAX_WBITS)
        # the JSON array "[e1,e2,...]", compressed without first copying it whole
        joined = pc.binary_join(
            pa.ListArray.from_arrays(pa.array([0, len(entries)], pa.int32()), entries), ","
        )
        array = (b"[", joined[0].as_buffer(), b"]")
        body = b"".join([*map(compressor.compress, array), compressor.flush()])
        for attempt in range(1, self.max_attempts + 1):
            with self._counting:
                self.requests += 1
            try:
                response = self._pool.urlopen("POST", self._path, body=body, headers=self._headers)
            except HTTPError as err:  # connection refused / reset, read timeout
                wait, reason = None, f"{type(err).__name__}: {err}"
            else:
                status = response.status
                if 200 <= status < 300:
                    return 202
                if status == 413:
                    return 413
                if status in FATAL_STATUSES or (status not in RETRY_STATUSES and status < 500):
                    raise IntakeRejected(_describe(status, response.data))
                wait = retry_after_seconds(response.headers)
                reason = f"HTTP {status}"
            if attempt == self.max_attempts:
                raise IntakeUnavailable(
                    f"The Datadog logs intake did not accept a batch of {len(entries)} entries after "
                    f"{attempt} attempts (last: {reason}); the checkpoints stay where they were, the "
                    "next run sends it again."
                )
            if wait is None:
                wait = self.backoff_seconds * 2 ** (attempt - 1) * (0.5 + random.random() / 2)
            with self._counting:
                self.retries += 1
            self.sleep(min(wait, MAX_BACKOFF_SECONDS))
        raise AssertionError("unreachable")


def _describe(status: int, body: bytes) -> str:
    hint = {
        400: "the payload was refused (bad JSON or attributes)",
        401: "the API key is missing or invalid: check the datadog secret",
        403: "the API key is not allowed to send logs: check the datadog secret",
    }.get(status, "the request was refused")
    text = body.decode("utf-8", "replace")[:300]
    return f"Datadog logs intake answered HTTP {status}: {hint}. {text}".strip()
