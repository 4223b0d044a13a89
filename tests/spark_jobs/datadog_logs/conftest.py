"""Fixtures for the Datadog log shipper: the local intake stand-in and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from datadog_log_files import API_KEY

from data_platform.local.datadog_intake import LocalDatadogIntake
from spark_jobs.datadog_logs.intake import LogsIntake


@pytest.fixture
def intake_server() -> Iterator[LocalDatadogIntake]:
    with LocalDatadogIntake((API_KEY,)) as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def intake(intake_server: LocalDatadogIntake, sleeps: list[float]) -> Iterator[LogsIntake]:
    """A client that records its backoff waits instead of sleeping."""
    with LogsIntake(API_KEY, host=intake_server.url, sleep=sleeps.append, request_timeout=5) as client:
        yield client
