"""Send batches of entries to the Datadog logs intake with ``datadog-api-client`` (LogsApi.submit_log).

Answers (LogsApi.submit_log, FIELD-NOTES "Datadog logs intake"): 202 accepted; 408, 429 and 5xx
are retried with exponential backoff (``Retry-After`` honoured when sent, also
``X-RateLimit-Reset``), as are connection errors; 413 splits the batch in halves and sends each;
400, 401 and 403 fail at once with :class:`IntakeRejected` (a bad payload or API key does not get
better by retrying). Requests are gzip-compressed (``content_encoding=gzip``).

Entries are passed as plain dicts (``check_input_type=False``): building one ``HTTPLogItem``
model per entry costs about 10x the rest of the pipeline; the wire format is the same.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

RETRY_STATUSES = frozenset({408, 429})
FATAL_STATUSES = frozenset({400, 401, 403})
MAX_BACKOFF_SECONDS = 120.0


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
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from datadog_api_client import ApiClient, Configuration
        from datadog_api_client.v2.api.logs_api import LogsApi

        if not api_key:
            raise IntakeRejected("No Datadog API key: set the datadog secret (see README, Datadog logs).")
        configuration = Configuration(
            host=host,
            check_input_type=False,
            preload_content=False,  # a 2xx is accepted whatever its body (Datadog sends {}; others may not)
            enable_retry=False,
            request_timeout=request_timeout,
        )
        configuration.api_key["apiKeyAuth"] = api_key
        if site and not host:
            configuration.server_variables["site"] = site
        self._client = ApiClient(configuration)
        self._api = LogsApi(self._client)
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self.splits = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> LogsIntake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, entries: Sequence[dict[str, Any]]) -> None:
        """Send ``entries`` until the intake accepted all of them (413: in smaller requests)."""
        if not entries:
            return
        status = self._send_with_retries(entries)
        if status == 413:
            if len(entries) == 1:
                raise IntakeRejected(
                    "The intake answered 413 (payload too large) for a single entry of "
                    f"{len(str(entries[0]))} characters; lower MAX_ENTRY_BYTES in entries.py."
                )
            self.splits += 1
            half = len(entries) // 2
            self.submit(entries[:half])
            self.submit(entries[half:])

    def _send_with_retries(self, entries: Sequence[dict[str, Any]]) -> int:
        from datadog_api_client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        for attempt in range(1, self.max_attempts + 1):
            self.requests += 1
            try:
                # preload_content=False: the raw urllib3 response (typed as the decoded body)
                response: Any = self._api.submit_log(body=list(entries), content_encoding="gzip")  # type: ignore[arg-type]
                response.drain_conn()  # read it so the connection is reused
                response.release_conn()
                return 202
            except ApiException as err:
                status = int(err.status or 0)
                if status == 413:
                    return 413
                if status in FATAL_STATUSES:
                    raise IntakeRejected(_describe(status, err)) from None
                if status not in RETRY_STATUSES and status < 500:
                    raise IntakeRejected(_describe(status, err)) from None
                wait = retry_after_seconds(err.headers)
                reason = f"HTTP {status}"
            except HTTPError as err:  # connection refused / reset, read timeout
                wait, reason = None, f"{type(err).__name__}: {err}"
            if attempt == self.max_attempts:
                raise IntakeUnavailable(
                    f"The Datadog logs intake did not accept a batch of {len(entries)} entries after "
                    f"{attempt} attempts (last: {reason}); the checkpoints stay where they were, the "
                    "next run sends it again."
                )
            if wait is None:
                wait = self.backoff_seconds * 2 ** (attempt - 1) * (0.5 + random.random() / 2)
            self.retries += 1
            self.sleep(min(wait, MAX_BACKOFF_SECONDS))
        raise AssertionError("unreachable")


def _describe(status: int, err: Any) -> str:
    hint = {
        400: "the payload was refused (bad JSON or attributes)",
        401: "the API key is missing or invalid: check the datadog secret",
        403: "the API key is not allowed to send logs: check the datadog secret",
    }.get(status, "the request was refused")
    body = str(getattr(err, "body", "") or "")[:300]
    return f"Datadog logs intake answered HTTP {status}: {hint}. {body}".strip()
