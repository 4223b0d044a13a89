"""Fixtures of the Jira tests: a seeded stand-in site, clients with a recorded (not real) sleep."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from data_platform.local.jira_sample import seed_issues
from data_platform.local.jira_server import JiraStandIn, JiraState
from spark_jobs.jira.client import JiraClient, RetryPolicy
from spark_jobs.jira.layout import SiteLayout
from tests.spark_jobs.conftest import spark  # noqa: F401 - the shared local Spark session


class RecordedSleep:
    """Stands in for time.sleep: records the requested waits, returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def jira() -> Iterator[JiraStandIn]:
    # a non-UTC account time zone, so a JQL date-time written in UTC would select the wrong issues
    with JiraStandIn(JiraState(time_zone="America/New_York")) as server:
        server.state.seed_ids = seed_issues(server.state)  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def make_client(jira: JiraStandIn, sleep: RecordedSleep) -> Callable[..., JiraClient]:
    def make(**overrides: object) -> JiraClient:
        options: dict[str, object] = {
            "site_url": jira.url,
            "email": jira.state.email,
            "api_token": jira.state.api_token,
            "sleep": sleep,
            "policy": RetryPolicy(max_attempts=4),
        }
        options.update(overrides)
        return JiraClient(**options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def layout(tmp_path: Path) -> SiteLayout:
    return SiteLayout(f"file://{tmp_path / 'lake'}", "test-site")
