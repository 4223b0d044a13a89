"""The column-level lineage table: one edge per (source column -> target column, job).

Edges come from the ``columnLineage`` facet of the output datasets of OpenLineage run events
(``fields.<target field>.inputFields[]``; spec: https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json)
and from the warehouse SQL (``data_platform.lineage.sql``). Datasets are tables: a lake folder
read or written as a partition or a run's folder (``event_day=...``, ``changes/run=...``) is the
table folder it lies under (:func:`table_level`). The table keeps the latest observation of each
edge (the one of the newest event), so processing all events again, with a rerun's or another
day's events added, gives the same edges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

# producers of Spark events: the OpenLineage Spark agent, and the jobs' own events (spark_jobs.common.lineage)
AGENT_PRODUCER = "/integration/spark"
JOB_PRODUCER = "/spark_jobs"

COLUMNS = tuple(
    ("source_namespace", "source_name", "source_field", "target_namespace", "target_name", "target_field")
)


@dataclass(frozen=True, order=True)
class ColumnEdge:
    """``source_namespace/source_name.source_field`` -> ``target_namespace/target_name.target_field``
    through job ``job_namespace/job_name`` (run ``run_id``, event time ``event_time``, ISO 8601).
    ``transformation`` is ``DIRECT`` or ``INDIRECT``, ``subtype`` e.g. ``IDENTITY``,
    ``TRANSFORMATION``, ``AGGREGATION`` (OpenLineage transformation types)."""

    source_namespace: str
    source_name: str
    source_field: str
    target_namespace: str
    target_name: str
    target_field: str
    job_namespace: str
    job_name: str
    transformation: str = "DIRECT"
    subtype: str = ""
    run_id: str = ""
    event_time: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        """Identity of the edge: the two columns and the job."""
        return (*(getattr(self, c) for c in COLUMNS), self.job_namespace, self.job_name)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


EDGE_FIELDS = tuple(f.name for f in fields(ColumnEdge))

_FOLDER_NAMESPACES = ("file", "s3://", "gs://", "abfss://", "hdfs://")
# a Hive-style partition folder at the end of a dataset name: event_day=2026-01-15, run=backfill__...
_PARTITION_FOLDER = re.compile(r"/[^/=]+=[^/]*$")


def is_folder_namespace(namespace: str) -> bool:
    return namespace.startswith(_FOLDER_NAMESPACES)


def table_folder(namespace: str, name: str) -> str:
    """The name without its trailing ``key=value`` partition folders (as the OpenLineage Spark
    integration's KeyValueTrimmer names datasets): a lake dataset is its table, not the
    partition or run folder one task read or wrote."""
    if not is_folder_namespace(namespace):
        return name
    trimmed = name.rstrip("/")
    while _PARTITION_FOLDER.search(trimmed):
        trimmed = _PARTITION_FOLDER.sub("", trimmed)
    return trimmed or name


def canonical_datasets(datasets: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """Each dataset mapped to its table: the name without partition folders (:func:`table_folder`),
    then the shortest known dataset of its namespace whose name is a folder holding it (a run's
    ``changes/run=...`` folder lies under the lake table the same job wrote)."""
    datasets = set(datasets)
    trimmed = {d: (d[0], table_folder(*d)) for d in datasets}
    known = sorted(set(trimmed.values()), key=lambda d: (d[0], len(d[1]), d[1]))
    parents: dict[tuple[str, str], tuple[str, str]] = {}
    for namespace, name in known:
        parent = (namespace, name)
        if is_folder_namespace(namespace):
            for other_ns, other in known:
                if other_ns == namespace and name.startswith(other.rstrip("/") + "/"):
                    parent = parents.get((other_ns, other), (other_ns, other))
                    break
        parents[(namespace, name)] = parent
    return {d: parents[t] for d, t in trimmed.items()}


def table_level(edges: Sequence[ColumnEdge]) -> list[ColumnEdge]:
    """The edges between tables (:func:`canonical_datasets`): the partitions and run folders a
    backfill's runs read and write are one dataset, so a rerun or another day adds no edge. An
    edge from a column to itself (a job rewriting its own table's folders) says nothing and is
    left out."""
    canon = canonical_datasets(
        [(e.source_namespace, e.source_name) for e in edges]
        + [(e.target_namespace, e.target_name) for e in edges]
    )
    found = []
    for edge in edges:
        source = canon[(edge.source_namespace, edge.source_name)]
        target = canon[(edge.target_namespace, edge.target_name)]
        if (*source, edge.source_field) != (*target, edge.target_field):
            found.append(
                replace(
                    edge,
                    source_namespace=source[0],
                    source_name=source[1],
                    target_namespace=target[0],
                    target_name=target[1],
                )
            )
    return found


def _transformation(input_field: dict[str, Any], info: dict[str, Any]) -> tuple[str, str]:
    transformations = input_field.get("transformations") or []
    if transformations:
        first = transformations[0]
        return str(first.get("type", "DIRECT")), str(first.get("subtype") or "")
    # facet 1-0-0 put the type on the field ("IDENTITY", "TRANSFORMATION"...)
    legacy = str(info.get("transformationType") or "")
    return "DIRECT", legacy.upper()


def edges_of_event(event: dict[str, Any]) -> list[ColumnEdge]:
    """Edges of one (valid) run event, from its outputs' ``columnLineage`` facets."""
    job = event["job"]
    run_id = event["run"]["runId"]
    event_time = event["eventTime"]
    found: list[ColumnEdge] = []
    for output in event.get("outputs") or []:
        facet = (output.get("facets") or {}).get("columnLineage") or {}
        for target_field, info in (facet.get("fields") or {}).items():
            for input_field in info.get("inputFields") or []:
                transformation, subtype = _transformation(input_field, info)
                found.append(
                    ColumnEdge(
                        source_namespace=input_field["namespace"],
                        source_name=input_field["name"],
                        source_field=input_field["field"],
                        target_namespace=output["namespace"],
                        target_name=output["name"],
                        target_field=target_field,
                        job_namespace=job["namespace"],
                        job_name=job["name"],
                        transformation=transformation,
                        subtype=subtype,
                        run_id=run_id,
                        event_time=event_time,
                    )
                )
    return found


def _parent_run_id(event: dict[str, Any]) -> str | None:
    parent = ((event.get("run") or {}).get("facets") or {}).get("parent") or {}
    run_id = (parent.get("run") or {}).get("runId")
    return str(run_id) if run_id else None


def _under(dataset: tuple[str, str], folders: Iterable[tuple[str, str]]) -> bool:
    namespace, name = dataset
    return any(ns == namespace and (name == n or name.startswith(n.rstrip("/") + "/")) for ns, n in folders)


def edges_of_events(events: Sequence[dict[str, Any]]) -> list[ColumnEdge]:
    """Edges of all ``events``. Within one task run (the ``parent`` run of the Spark events), a
    job's own ``columnLineage`` of a dataset replaces the Spark agent's for that dataset and the
    folders below it: where Python code builds the rows (the Jira JSON flattening), the agent
    can only pair columns by name with the files read, e.g. ``landing.status`` for a field that
    the records hold at ``issue.fields.status.name``. The agent's query events name the Spark
    application's run as parent, whose own parent is the task run."""
    agent_parents = {
        str(e["run"]["runId"]): _parent_run_id(e)
        for e in events
        if AGENT_PRODUCER in str(e.get("producer", ""))
    }

    def task_run(event: dict[str, Any]) -> str:
        run_id = _parent_run_id(event) or ""
        for _ in range(len(agent_parents)):
            if AGENT_PRODUCER not in str(event.get("producer", "")) or run_id not in agent_parents:
                break
            run_id = agent_parents[run_id] or ""
        return run_id

    own: dict[str, list[tuple[str, str]]] = {}
    for event in events:
        parent = _parent_run_id(event)
        if parent and JOB_PRODUCER in str(event.get("producer", "")):
            own.setdefault(parent, []).extend(
                (o["namespace"], o["name"])
                for o in event.get("outputs") or []
                if (o.get("facets") or {}).get("columnLineage")
            )
    found: list[ColumnEdge] = []
    for event in events:
        edges = edges_of_event(event)
        replaced = own.get(task_run(event)) if AGENT_PRODUCER in str(event.get("producer", "")) else None
        if replaced:
            edges = [e for e in edges if not _under((e.target_namespace, e.target_name), replaced)]
        found += edges
    return found


def latest_edges(edges: Iterable[ColumnEdge]) -> list[ColumnEdge]:
    """One edge per key, the newest (by event time, then run id), sorted by key."""
    newest: dict[tuple[str, ...], ColumnEdge] = {}
    for edge in edges:
        kept = newest.get(edge.key)
        if kept is None or (edge.event_time, edge.run_id) > (kept.event_time, kept.run_id):
            newest[edge.key] = edge
    return [newest[key] for key in sorted(newest)]
