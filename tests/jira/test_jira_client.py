"""The client's retry policy against the stand-in's injected failures (sleep is recorded)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from data_platform.local.jira_server import Fault
from spark_jobs.jira.client import JiraApiError, parse_retry_after


def test_429_waits_at_least_retry_after(jira, make_client, sleep):
    jira.state.faults.append(Fault(429, {"Retry-After": "7"}, "/rest/api/3/myself", times=2))
    client = make_client()
    assert client.get("/rest/api/3/myself")["timeZone"] == "America/New_York"
    assert len(sleep.waits) == 2 and all(w >= 7 for w in sleep.waits)
    assert client.calls["/rest/api/3/myself"] == 3


def test_rate_limit_reset_header_when_no_retry_after(jira, make_client, sleep):
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    jira.state.faults.append(
        Fault(429, {"X-RateLimit-Reset": "2026-01-15T12:00:30Z"}, "/rest/api/3/field", times=1)
    )
    make_client(now=lambda: now).get("/rest/api/3/field")
    assert sleep.waits and sleep.waits[0] >= 30


def test_503_with_retry_after_is_honoured(jira, make_client, sleep):
    jira.state.faults.append(Fault(503, {"Retry-After": "12"}, "/rest/api/3/search/jql", times=1))
    page = make_client().post("/rest/api/3/search/jql", {"jql": 'project = "OPS"', "fields": ["id"]})
    assert page["issues"] and sleep.waits[0] >= 12


def test_500_backs_off_with_jitter_then_succeeds(jira, make_client, sleep):
    jira.state.faults.append(Fault(500, {}, "/rest/api/3/field", times=3))
    client = make_client()
    assert client.get("/rest/api/3/field")
    assert len(sleep.waits) == 3
    assert all(0 <= w <= client.policy.base_seconds * 2**n for n, w in enumerate(sleep.waits))


def test_500_that_persists_fails_after_the_attempts(jira, make_client):
    jira.state.faults.append(Fault(502, {}, "/rest/api/3/field", times=10))
    with pytest.raises(JiraApiError, match="after 4 attempts"):
        make_client().get("/rest/api/3/field")


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_fail_at_once(jira, make_client, sleep, status):
    if status == 401:
        client = make_client(api_token="wrong-token")
    else:
        jira.state.faults.append(Fault(403, {}, "/rest/api/3/myself", times=1))
        client = make_client()
    with pytest.raises(JiraApiError) as err:
        client.get("/rest/api/3/myself")
    assert err.value.status == status and client.total_calls == 1 and not sleep.waits
    assert "wrong-token" not in str(err.value) and jira.state.api_token not in str(err.value)
    assert ("API token" in str(err.value)) if status == 401 else ("permission" in str(err.value))


def test_the_old_search_endpoint_answers_410_and_fails_at_once(jira, make_client, sleep):
    client = make_client()
    with pytest.raises(JiraApiError, match="410 Gone.*search/jql") as err:
        client.get("/rest/api/3/search", {"jql": 'project = "OPS"'})
    assert err.value.status == 410 and client.total_calls == 1 and not sleep.waits


def test_bad_jql_fails_with_jiras_message(jira, make_client):
    with pytest.raises(JiraApiError, match="Unbounded JQL"):
        make_client().post("/rest/api/3/search/jql", {"jql": "ORDER BY updated ASC"})


def test_retry_after_as_http_date():
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 15 Jan 2026 12:01:00 GMT", now) == 60
    assert parse_retry_after("5", now) == 5 and parse_retry_after(None, now) is None


def test_a_too_long_retry_after_fails_with_a_clear_message(jira, make_client):
    jira.state.faults.append(Fault(429, {"Retry-After": "86400"}, "/rest/api/3/field", times=1))
    with pytest.raises(JiraApiError, match="rate limit is exhausted"):
        make_client().get("/rest/api/3/field")
