"""Helpers of the Spark tests: a minimal run context, a fake clock for the EMR poll loop, moto state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-west-1"
RUN_ID = "manual__2026-11-23T10:00:00+00:00"
LOGICAL_DATE = datetime(2026, 11, 23, 10, tzinfo=UTC)
OTHER_RUN = "other-team.nightly"  # a run of another team on the shared application


@dataclass
class FakeDagRun:
    run_id: str = RUN_ID
    logical_date: datetime = LOGICAL_DATE
    run_after: datetime = LOGICAL_DATE
    conf: dict[str, Any] = field(default_factory=dict)
    clear_number: int = 0


@dataclass
class FakeTaskInstance:
    """The task-instance fields the operator (and the OpenLineage macros) read."""

    dag_id: str
    task_id: str
    run_id: str = RUN_ID
    map_index: int = -1
    try_number: int = 1
    max_tries: int = 0
    dag_run: FakeDagRun = field(default_factory=FakeDagRun)
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def get_template_context(self) -> dict[str, Any]:
        return {"dag_run": self.dag_run}


def run_context(task: Any, *, try_number: int = 1, max_tries: int | None = None, map_index: int = -1) -> dict:
    """A minimal task context; ``max_tries`` defaults to the first try group (= retries)."""
    ti = FakeTaskInstance(
        dag_id=task.dag_id,
        task_id=task.task_id,
        map_index=map_index,
        try_number=try_number,
        max_tries=task.retries if max_tries is None else max_tries,
    )
    return {
        "ti": ti,
        "task_instance": ti,
        "run_id": ti.run_id,
        "dag_run": ti.dag_run,
        "task": task,
        "ds": "2026-11-23",
        "params": {},
    }


class FakeClock:
    """Replaces the EMR target's clock and the waiter's sleep: each sleep advances time and may act
    (flip states)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.sleeps = 0
        self.on_sleep: list[Callable[[int], None]] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += timedelta(seconds=seconds)
        for action in self.on_sleep:
            action(self.sleeps)

    def seconds_until(self, deadline: datetime) -> float:
        return (deadline - self.now).total_seconds()


def emr_backend() -> Any:
    from moto.emrserverless.models import emrserverless_backends

    return emrserverless_backends[ACCOUNT][REGION]


def job_runs(application_id: str) -> list[Any]:
    """The job runs moto holds for the application, without the other team's run."""
    return [r for r in emr_backend().job_runs.get(application_id, []) if r.name != OTHER_RUN]


def set_state(application_id: str, job_run_id: str, state: str, details: str | None = None) -> None:
    run = next(r for r in job_runs(application_id) if r.id == job_run_id)
    run.state, run.state_details = state, details
