"""HTTP client of the Jira Cloud REST API v3 with the retry policy the API asks for.

Built on ``requests`` (connection pooling, basic auth) and ``tenacity`` (retry loop). Policy:

- 429 and 503 with ``Retry-After`` (seconds or an HTTP date): wait at least that long, never
  less (Atlassian: retrying early extends the penalty); a 429 without it waits until
  ``X-RateLimit-Reset`` if given, otherwise backs off like a 5xx;
- other 5xx and connection errors: exponential back-off with full jitter;
- 401, 403 and 410 fail at once with a message saying what to fix (410 is what the removed
  ``/rest/api/3/search`` answers); other 4xx fail at once with Jira's ``errorMessages``.

``sleep`` and ``now`` are injectable so tests check waits without a wall clock. The API token
never appears in a message or log line: errors name the path, never the headers.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

log = logging.getLogger(__name__)

RETRY_AFTER_STATUSES = frozenset({429, 503})


class JiraApiError(RuntimeError):
    """A request failed for good (after retries, or at once for errors that retrying cannot fix)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _RetryableResponse(Exception):
    """A response worth retrying; ``retry_after`` is the minimum wait the server asked for."""

    def __init__(self, status: int, path: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status} from {path}")
        self.status = status
        self.path = path
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """Retry limits: ``max_attempts`` per request, back-off ``base_seconds * 2**n`` capped at
    ``max_backoff_seconds`` (full jitter), and the longest ``Retry-After`` honoured before giving
    up (``max_retry_after_seconds``; a longer demand fails the request with a clear message)."""

    max_attempts: int = 8
    base_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_retry_after_seconds: float = 900.0
    jitter_seconds: float = 1.0


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date (RFC 9110); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - now).total_seconds(), 0.0)


def parse_rate_limit_reset(value: str | None, now: datetime) -> float | None:
    """Seconds until ``X-RateLimit-Reset`` (an ISO 8601 timestamp), None if absent or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - now).total_seconds(), 0.0)


def _error_messages(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if not isinstance(body, Mapping):
        return str(body)[:300]
    messages = list(body.get("errorMessages") or [])
    messages += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
    return "; ".join(str(m) for m in messages) or str(body)[:300]


@dataclass
class JiraClient:
    """Calls ``site_url`` as ``email`` with ``api_token`` (basic auth, as Atlassian documents).

    ``calls`` counts requests sent per path template (retries included), ``retried`` those that
    were answered 429 / 5xx and sent again, ``waits`` records every wait in seconds. Raises :class:`JiraApiError` for failures that retrying did not fix.
    """

    site_url: str
    email: str
    api_token: str = field(repr=False)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    timeout_seconds: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    calls: Counter[str] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)
    waits: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.site_url = self.site_url.rstrip("/")
        if not self.site_url.startswith(("http://", "https://")):
            self.site_url = "https://" + self.site_url
        self._session = requests.Session()
        self._session.auth = (self.email, self.api_token)
        self._session.headers.update({"Accept": "application/json"})

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, label: str | None = None) -> Any:
        return self._call("GET", path, label or path, params=params)

    def post(self, path: str, body: Mapping[str, Any], *, label: str | None = None) -> Any:
        return self._call("POST", path, label or path, json=body)

    def close(self) -> None:
        self._session.close()

    # -- retry loop -------------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        attempt = state.attempt_number
        backoff = min(self.policy.base_seconds * 2 ** (attempt - 1), self.policy.max_backoff_seconds)
        if isinstance(error, _RetryableResponse) and error.retry_after is not None:
            # never earlier than asked; a little jitter after it spreads the retries of many clients
            wait = error.retry_after + self.rng.uniform(0, self.policy.jitter_seconds)
        else:
            wait = self.rng.uniform(0, backoff)
        self.waits.append(wait)
        log.warning("Jira request failed (%s); retry %d in %.1f s", error, attempt, wait)
        return wait

    def _call(self, method: str, path: str, label: str, **kwargs: Any) -> Any:
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(
                lambda e: isinstance(e, (_RetryableResponse, requests.ConnectionError, requests.Timeout))
            ),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(self._send, method, path, label, **kwargs)
        except _RetryableResponse as err:
            raise JiraApiError(
                f"Jira {method} {path} still failed with HTTP {err.status} after "
                f"{self.policy.max_attempts} attempts; the site is overloaded or down, retry later.",
                err.status,
            ) from None
        except (requests.ConnectionError, requests.Timeout) as err:
            raise JiraApiError(
                f"Jira {method} {path}: no answer from {self.site_url} after {self.policy.max_attempts} "
                f"attempts ({type(err).__name__}); check the connection's host (site URL)."
            ) from None

    def _send(self, method: str, path: str, label: str, **kwargs: Any) -> Any:
        self.calls[label] += 1
        response = self._session.request(method, self.site_url + path, timeout=self.timeout_seconds, **kwargs)
        status = response.status_code
        if status < 300:
            return response.json() if response.content else None
        now = self.now()
        if status in RETRY_AFTER_STATUSES or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
            if retry_after is None and status == 429:
                retry_after = parse_rate_limit_reset(response.headers.get("X-RateLimit-Reset"), now)
            if retry_after is not None and retry_after > self.policy.max_retry_after_seconds:
                raise JiraApiError(
                    f"Jira {method} {path}: HTTP {status} asks to wait {retry_after:.0f} s (Retry-After), "
                    f"more than max_retry_after_seconds={self.policy.max_retry_after_seconds:.0f}; the "
                    "rate limit is exhausted, run the sync later.",
                    status,
                )
            self.retried[label] += 1
            raise _RetryableResponse(status, path, retry_after)
        detail = _error_messages(response)
        if status == 401:
            message = (
                f"Jira {method} {path}: 401 Unauthorized. The connection's login (account email) and "
                "password (API token) were rejected; create a new API token at "
                "id.atlassian.com/manage-profile/security/api-tokens and update the connection."
            )
        elif status == 403:
            message = (
                f"Jira {method} {path}: 403 Forbidden ({detail}). The account lacks a permission "
                "(e.g. Browse projects) or the site blocks API tokens; grant it or use another account."
            )
        elif status == 410:
            message = (
                f"Jira {method} {path}: 410 Gone ({detail}). The endpoint was removed (e.g. the old "
                "/rest/api/3/search was replaced by /rest/api/3/search/jql); update the client."
            )
        else:
            message = f"Jira {method} {path}: HTTP {status}: {detail}"
        raise JiraApiError(message, status)
