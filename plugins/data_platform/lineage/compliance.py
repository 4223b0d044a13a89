"""Spark job runs that emitted no lineage (AppsFlyer's "confirming universal adoption").

A Spark job run of a day emitted lineage when an OpenLineage event of that day from a Spark
job (the OpenLineage Spark agent, or a job's own events) names the run's Airflow task in its
``parent`` run facet: the SparkJobOperator passes the task to the agent
(``spark.openlineage.parent*``), so the parent's job name is ``<dag_id>.<task_id>``.

Runs of the day: EMR Serverless ``ListJobRuns`` of the application on ``aws`` (job run names
are ``<dag_id>.<task_id>[<map index>] @ <run_id>``, see ``data_platform.spark.identity``), the
spark-submit work folders ``<local dir>/spark/work/<dag_id>.<task_id>.<map index>`` used that
day on ``local``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

SPARK_PRODUCERS = ("/integration/spark", "/spark_jobs")
_EMR_NAME = re.compile(r"^(?P<task>.+?)(\[\d+\])? @ .*$")


@dataclass(frozen=True, order=True)
class SparkRun:
    """One Spark job run: its Airflow task (``dag_id.task_id``), id and creation time."""

    task: str
    run_id: str
    created_at: str
    target: str

    def as_dict(self) -> dict[str, str]:
        return {
            "task": self.task,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "target": self.target,
        }


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def emr_runs_of_day(client: Any, application_id: str, day: date) -> list[SparkRun]:
    """Job runs of ``application_id`` created on ``day`` (UTC), from an EMR Serverless boto3
    client's ``list_job_runs`` paginator."""
    start, end = day_bounds(day)
    runs = []
    pages = client.get_paginator("list_job_runs").paginate(
        applicationId=application_id, createdAtAfter=start, createdAtBefore=end
    )
    for page in pages:
        for run in page.get("jobRuns", []):
            match = _EMR_NAME.match(run.get("name") or "")
            task = match.group("task") if match else str(run.get("name") or run["id"])
            runs.append(SparkRun(task, run["id"], run["createdAt"].astimezone(UTC).isoformat(), "aws"))
    return sorted(runs)


def local_runs_of_day(work_root: Path, day: date) -> list[SparkRun]:
    """spark-submit work folders (``<dag_id>.<task_id>.<map index>``) last used on ``day``."""
    start, end = day_bounds(day)
    runs = []
    for folder in sorted(work_root.glob("*")) if work_root.is_dir() else []:
        used = datetime.fromtimestamp(folder.stat().st_mtime, UTC)
        if folder.is_dir() and start <= used < end:
            runs.append(SparkRun(folder.name.rsplit(".", 1)[0], folder.name, used.isoformat(), "local"))
    return runs


def tasks_with_spark_lineage(events: Iterable[dict[str, Any]], day: date) -> set[str]:
    """Airflow tasks (``dag_id.task_id``) named as parent by a Spark event of ``day`` (an hour
    either side counts: a run started before midnight emits after it)."""
    start, end = day_bounds(day)
    found = set()
    for event in events:
        if not any(marker in str(event.get("producer", "")) for marker in SPARK_PRODUCERS):
            continue
        when = datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        parent = ((event.get("run") or {}).get("facets") or {}).get("parent") or {}
        name = (parent.get("job") or {}).get("name")
        if name and start - timedelta(hours=1) <= when < end + timedelta(hours=1):
            found.add(str(name))
    return found


def runs_without_lineage(runs: Sequence[SparkRun], tasks_with_lineage: set[str]) -> list[SparkRun]:
    """The runs whose Airflow task no Spark event named as parent."""
    return [run for run in runs if run.task not in tasks_with_lineage]
