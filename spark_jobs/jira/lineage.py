"""Column lineage of the Jira tables: which field of the landed API records each column comes from.

The OpenLineage Spark agent sees the landing files read as text and Python code in between, so
it cannot tell which Jira field became which column; the transform job adds this mapping as
its own ``columnLineage`` facet (spec:
https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json).

Source fields are JSON paths in the landed lines of the site's landing dataset
(:mod:`spark_jobs.jira.layout`), so the Jira field names appear as the Jira Cloud REST API v3
returns them:

- search pages ``{"_sync": {...}, "issue": {...}}``: ``issue.id``, ``issue.key``,
  ``issue.fields.<field id>[.<key>]`` (e.g. ``issue.fields.status.name``,
  ``issue.fields.customfield_10016``), ``issue.changelog.histories...``, ``_sync.<key>``;
- full changelogs ``{"issue_id": ..., "history": {...}}``: ``issue_id``, ``history...``;
- reconciliation ``{"id": ...}``: ``id``.

Transformations: ``DIRECT``/``IDENTITY`` when the column holds the field's value (cast to the
column type at most, date-times to UTC), ``DIRECT``/``TRANSFORMATION`` when the value is
rewritten (ADF to text, lists joined, custom values as text, the active sprint chosen),
``INDIRECT``/``FILTER`` for what decides which rows exist (the deletion marker ``_op``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from spark_jobs.common.lineage import ColumnSource, LineageDataset
from spark_jobs.jira.flatten import STATUS_HISTORY_COLUMNS, FieldMap
from spark_jobs.jira.transform import RAW_COLUMNS

IDENTITY = ("DIRECT", "IDENTITY")
TRANSFORMED = ("DIRECT", "TRANSFORMATION")
FILTER = ("INDIRECT", "FILTER")

# column of the ``issues`` table -> its source paths (below ``issue.``) and how it is derived
STANDARD_SOURCES: Mapping[str, tuple[tuple[str, ...], tuple[str, str]]] = {
    "issue_id": (("id",), IDENTITY),
    "issue_key": (("key",), IDENTITY),
    "project_id": (("fields.project.id",), IDENTITY),
    "project_key": (("fields.project.key",), IDENTITY),
    "project_name": (("fields.project.name",), IDENTITY),
    "issue_type": (("fields.issuetype.name",), IDENTITY),
    "is_subtask": (("fields.issuetype.subtask",), IDENTITY),
    "summary": (("fields.summary",), IDENTITY),
    "description": (("fields.description",), TRANSFORMED),
    "status": (("fields.status.name",), IDENTITY),
    "status_category": (("fields.status.statusCategory.key",), IDENTITY),
    "status_category_name": (("fields.status.statusCategory.name",), IDENTITY),
    "priority": (("fields.priority.name",), IDENTITY),
    "resolution": (("fields.resolution.name",), IDENTITY),
    "assignee_account_id": (("fields.assignee.accountId",), IDENTITY),
    "assignee_name": (("fields.assignee.displayName",), IDENTITY),
    "reporter_account_id": (("fields.reporter.accountId",), IDENTITY),
    "reporter_name": (("fields.reporter.displayName",), IDENTITY),
    "labels": (("fields.labels",), TRANSFORMED),
    "components": (("fields.components.name",), TRANSFORMED),
    "fix_versions": (("fields.fixVersions.name",), TRANSFORMED),
    "parent_id": (("fields.parent.id",), IDENTITY),
    "parent_key": (("fields.parent.key",), IDENTITY),
    "created": (("fields.created",), IDENTITY),
    "updated": (("fields.updated",), IDENTITY),
    "resolved": (("fields.resolutiondate",), IDENTITY),
    "due_date": (("fields.duedate",), IDENTITY),
}

RAW_SOURCES: Mapping[str, tuple[str, tuple[str, str]]] = {
    "issue_id": ("issue.id", IDENTITY),
    "updated": ("issue.fields.updated", IDENTITY),
    "issue_key": ("issue.key", IDENTITY),
    "sync_id": ("_sync.sync_id", IDENTITY),
    "synced_at": ("_sync.synced_at", IDENTITY),
    "sync_jql": ("_sync.jql", IDENTITY),
    "sync_attempt": ("_sync.attempt", IDENTITY),
    "sync_page": ("_sync.page", IDENTITY),
    "record": ("issue", TRANSFORMED),
}

# column of ``status_history`` -> its path in a search page's changelog and in a full changelog
_HISTORY = "issue.changelog.histories"
HISTORY_SOURCES: Mapping[str, tuple[tuple[str, ...], tuple[str, str]]] = {
    "issue_id": (("issue.id", "issue_id"), IDENTITY),
    "history_id": ((f"{_HISTORY}.id", "history.id"), IDENTITY),
    "item_index": ((f"{_HISTORY}.items", "history.items"), TRANSFORMED),
    "from_status": ((f"{_HISTORY}.items.fromString", "history.items.fromString"), IDENTITY),
    "to_status": ((f"{_HISTORY}.items.toString", "history.items.toString"), IDENTITY),
    "from_status_id": ((f"{_HISTORY}.items.from", "history.items.from"), IDENTITY),
    "to_status_id": ((f"{_HISTORY}.items.to", "history.items.to"), IDENTITY),
    "changed_at": ((f"{_HISTORY}.created", "history.created"), IDENTITY),
    "author_account_id": ((f"{_HISTORY}.author.accountId", "history.author.accountId"), IDENTITY),
    "author_name": ((f"{_HISTORY}.author.displayName", "history.author.displayName"), IDENTITY),
}

ColumnMapping = dict[str, list[ColumnSource]]


def _sources(landing: LineageDataset, paths: Sequence[str], how: tuple[str, str]) -> list[ColumnSource]:
    return [ColumnSource(landing, path, *how) for path in paths]


def issue_sources(landing: LineageDataset, field_map: FieldMap) -> ColumnMapping:
    """Every column of ``issues`` (:attr:`FieldMap.columns`) -> the landed fields it comes from.
    The story point, sprint and custom fields are the site's field ids from its field catalog."""
    mapping = {
        column: _sources(landing, [f"issue.{p}" for p in paths], how)
        for column, (paths, how) in STANDARD_SOURCES.items()
    }
    sprint, points = field_map.sprint_field, field_map.story_points_field
    mapping["sprint"] = _sources(landing, [f"issue.fields.{sprint}.name"] if sprint else [], TRANSFORMED)
    mapping["sprint_ids"] = _sources(landing, [f"issue.fields.{sprint}.id"] if sprint else [], TRANSFORMED)
    mapping["story_points"] = _sources(landing, [f"issue.fields.{points}"] if points else [], IDENTITY)
    custom = sorted(field_map.custom_columns.items())
    for field_id, column in custom:
        mapping[column] = _sources(landing, [f"issue.fields.{field_id}"], TRANSFORMED)
    mapping["custom_fields"] = _sources(landing, [f"issue.fields.{f}" for f, _ in custom], TRANSFORMED)
    return {column: sources for column, sources in mapping.items() if sources}


def table_lineage(
    landing: LineageDataset, field_map: FieldMap
) -> dict[str, tuple[ColumnMapping, list[tuple[str, str]]]]:
    """Each Jira table -> (its column lineage, its ``[(column, Spark SQL type)]``)."""
    issues = issue_sources(landing, field_map)
    changes = {**issues, "_op": _sources(landing, ["id", "issue.id"], FILTER)}
    raw = {column: _sources(landing, [path], how) for column, (path, how) in RAW_SOURCES.items()}
    history = {column: _sources(landing, paths, how) for column, (paths, how) in HISTORY_SOURCES.items()}
    return {
        "issues_raw": (raw, list(RAW_COLUMNS)),
        "issues": (issues, list(field_map.columns)),
        "issues_changes": (changes, [*field_map.columns, ("_op", "string")]),
        "status_history": (history, list(STATUS_HISTORY_COLUMNS)),
    }


def output_datasets(
    landing: LineageDataset, tables: Mapping[str, LineageDataset], field_map: FieldMap | None
) -> list[LineageDataset]:
    """The tables' datasets, with ``schema`` and ``columnLineage`` facets given the run's
    ``field_map`` (None before the catalog was read: names only)."""
    if field_map is None:
        return list(tables.values())
    lineage = table_lineage(landing, field_map)
    return [
        dataset.with_column_lineage(lineage[name][0], lineage[name][1]) for name, dataset in tables.items()
    ]
