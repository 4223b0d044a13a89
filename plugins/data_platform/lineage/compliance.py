"""Spark job runs that emitted no lineage (AppsFlyer's "confirming universal adoption").

A Spark job run belongs to the Airflow task run that started it, ``(dag_id.task_id, Airflow
run id, map index)``, and to the day of that DAG run's data interval (not the day it ran: a
backfill of 2026-01-15 run today is a run of 2026-01-15). It emitted lineage when an OpenLineage
event of a Spark job (the OpenLineage Spark agent, or a job's own events) names that task run in
its ``parent`` run facet: SparkJobOperator passes the task run's OpenLineage run id to the job
(``spark.openlineage.parentRunId``), the same run id the OpenLineage provider gives the task's
own events, whose ``airflow`` run facet tells the DAG run (``dagRun.run_id``,
``dagRun.data_interval_start``) and the map index (``taskInstance.map_index``).

Spark job runs: EMR Serverless ``ListJobRuns`` of the application on ``aws`` (job run names are
``<dag_id>.<task_id>[<map index>] @ <run_id>``, see ``data_platform.spark.identity``), the local
runs' ``job_run.json`` (``data_platform.spark.local_logs``: the same identity as tags) on
``local``. A run whose Airflow task run sent no event has no known data interval: it counts on
the day it was created, and as a run without lineage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from data_platform.lineage.columns import AGENT_PRODUCER, JOB_PRODUCER
from data_platform.spark.identity import tag_value

SPARK_PRODUCERS = (AGENT_PRODUCER, JOB_PRODUCER)
_EMR_NAME = re.compile(r"^(?P<task>.+?)(\[(?P<index>\d+)\])? @ (?P<run>.*)$")
# a local job run id starts with its UTC start time (data_platform.spark.local_logs)
_LOCAL_STARTED = re.compile(r"^(\d{8}T\d{6})")

TaskRunKey = tuple[str, str, int]  # dag_id.task_id, Airflow run id (as tagged), map index


@dataclass(frozen=True, order=True)
class SparkRun:
    """One Spark job run: its Airflow task (``dag_id.task_id``), Airflow run id and map index,
    its job run id, creation time (ISO 8601, UTC) and target."""

    task: str
    airflow_run_id: str
    map_index: int
    run_id: str
    created_at: str
    target: str

    @property
    def key(self) -> TaskRunKey:
        return (self.task, tag_value(self.airflow_run_id), self.map_index)

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "airflow_run_id": self.airflow_run_id,
            "map_index": self.map_index,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "target": self.target,
        }


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def emr_runs_since(client: Any, application_id: str, since: datetime) -> list[SparkRun]:
    """Job runs of ``application_id`` created at or after ``since`` (a run of a day's data
    interval is created during that day or later), from an EMR Serverless boto3 client's
    ``list_job_runs`` paginator."""
    runs = []
    for page in client.get_paginator("list_job_runs").paginate(
        applicationId=application_id, createdAtAfter=since
    ):
        for run in page.get("jobRuns", []):
            name = str(run.get("name") or run["id"])
            match = _EMR_NAME.match(name)
            task, airflow_run, index = (
                (match.group("task"), match.group("run"), int(match.group("index") or -1))
                if match
                else (name, "", -1)
            )
            created = run["createdAt"].astimezone(UTC).isoformat()
            runs.append(SparkRun(task, airflow_run, index, run["id"], created, "aws"))
    return sorted(runs)


def local_runs(log_root: Path) -> list[SparkRun]:
    """The local target's Spark job runs: ``<log root>/applications/*/jobs/<job run id>/job_run.json``."""
    runs = []
    for metadata in sorted(log_root.glob("applications/*/jobs/*/job_run.json")):
        tags = json.loads(metadata.read_text()).get("tags") or {}
        job_run_id = metadata.parent.name
        started = _LOCAL_STARTED.match(job_run_id)
        created = (
            datetime.strptime(started.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            if started
            else datetime.fromtimestamp(metadata.stat().st_mtime, UTC)
        )
        runs.append(
            SparkRun(
                f"{tags.get('airflow:dag_id', '')}.{tags.get('airflow:task_id', '')}",
                str(tags.get("airflow:run_id", "")),
                int(tags.get("airflow:map_index", -1)),
                job_run_id,
                created.isoformat(),
                "local",
            )
        )
    return runs


@dataclass(frozen=True)
class AirflowTaskRuns:
    """What the Airflow side's events tell: each task run's OpenLineage run ids (one per try)
    and the day of its DAG run's data interval."""

    run_ids: dict[TaskRunKey, set[str]]
    days: dict[TaskRunKey, date]

    @classmethod
    def from_events(cls, events: Iterable[dict[str, Any]]) -> AirflowTaskRuns:
        run_ids: dict[TaskRunKey, set[str]] = {}
        days: dict[TaskRunKey, date] = {}
        for event in events:
            airflow = ((event.get("run") or {}).get("facets") or {}).get("airflow") or {}
            dag_run = airflow.get("dagRun") or {}
            start = dag_run.get("data_interval_start") or dag_run.get("logical_date")
            if not dag_run.get("run_id") or not start:
                continue
            index = (airflow.get("taskInstance") or {}).get("map_index")
            key = (
                str(event["job"]["name"]),
                tag_value(dag_run["run_id"]),
                -1 if index is None else int(index),
            )
            run_ids.setdefault(key, set()).add(str(event["run"]["runId"]))
            days[key] = datetime.fromisoformat(str(start).replace("Z", "+00:00")).astimezone(UTC).date()
        return cls(run_ids, days)

    def day_of(self, run: SparkRun) -> date:
        """The data interval's day of ``run``'s DAG run (its creation day when unknown)."""
        return self.days.get(run.key) or datetime.fromisoformat(run.created_at).astimezone(UTC).date()


def spark_parent_run_ids(events: Iterable[dict[str, Any]]) -> set[str]:
    """Run ids named as ``parent`` by the events of Spark jobs."""
    found = set()
    for event in events:
        if not any(marker in str(event.get("producer", "")) for marker in SPARK_PRODUCERS):
            continue
        parent = ((event.get("run") or {}).get("facets") or {}).get("parent") or {}
        run_id = (parent.get("run") or {}).get("runId")
        if run_id:
            found.add(str(run_id))
    return found


def runs_without_lineage(
    runs: Sequence[SparkRun], events: Sequence[dict[str, Any]], day: date
) -> tuple[list[SparkRun], list[SparkRun]]:
    """``(runs of day, those without lineage)``: the Spark runs whose DAG run's data interval
    starts on ``day``, and among them those whose Airflow task run no Spark event names as parent."""
    task_runs = AirflowTaskRuns.from_events(events)
    parents = spark_parent_run_ids(events)
    of_day = [run for run in runs if task_runs.day_of(run) == day]
    missing = [run for run in of_day if not task_runs.run_ids.get(run.key, set()) & parents]
    return of_day, missing
