"""Shared helpers of the pod task tests: tasks inside a DAG and a minimal run context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_ARGS = {"owner": "jane.doe", "team": "data-eng", "pipeline": "cdc"}
RUN_ID = "manual__2026-11-23T10:00:00+00:00"


@dataclass
class MinimalTaskInstance:
    """The task-instance fields the provider reads when it labels a pod."""

    dag_id: str
    task_id: str
    run_id: str = RUN_ID
    map_index: int = -1
    try_number: int = 1


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
