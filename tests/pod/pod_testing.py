"""Shared helpers of the pod task tests: tasks inside a DAG and a minimal run context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_ARGS = {"owner": "jane.doe", "team": "data-eng", "pipeline": "cdc"}
RUN_ID = "manual__2026-11-23T10:00:00+00:00"
LOGICAL_DATE = datetime(2026, 11, 23, 10, tzinfo=UTC)


@dataclass
class MinimalDagRun:
    """The DAG-run fields the OpenLineage provider's macros read."""

    run_id: str = RUN_ID
    logical_date: datetime = LOGICAL_DATE
    conf: dict[str, Any] = field(default_factory=dict)
    clear_number: int = 0


@dataclass
class MinimalTaskInstance:
    """The task-instance fields the provider reads when it labels a pod, and the OpenLineage
    macros read for the parent run."""

    dag_id: str
    task_id: str
    run_id: str = RUN_ID
    map_index: int = -1
    try_number: int = 1
    dag_run: MinimalDagRun = field(default_factory=MinimalDagRun)
    pushed: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def get_template_context(self) -> dict[str, Any]:
        return {"dag_run": self.dag_run}


def make_task(dag_id: str = "cdc_sales", **kwargs: Any):
    """A PlatformPodOperator defined in a DAG, as a DAG file would define it."""
    from airflow.sdk import DAG

    from data_platform.pod import PlatformPodOperator

    kwargs.setdefault("task_id", "discover_files")
    kwargs.setdefault("profile", "small")
    kwargs.setdefault("image", "platform-tools")
    with DAG(dag_id, schedule=None, default_args=DEFAULT_ARGS):
        return PlatformPodOperator(**kwargs)


def run_context(task) -> dict[str, Any]:
    """The context keys PlatformPodOperator and the provider use: ti, run_id, dag, task."""
    ti = MinimalTaskInstance(dag_id=task.dag_id, task_id=task.task_id)
    return {"ti": ti, "run_id": ti.run_id, "dag": task.dag, "task": task}
