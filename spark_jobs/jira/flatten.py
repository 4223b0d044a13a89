"""One issue record (as the search returns it) -> one row of the reporting table.

Column meanings (Jira Cloud REST API v3 ``fields``): ``status`` is ``fields.status.name`` and
``status_category`` its ``statusCategory.key`` (``new``, ``indeterminate``, ``done``); users are
``accountId`` + ``displayName``; ``labels``, ``components`` and ``fix_versions`` are
comma-separated names in API order; ``sprint`` is the name of the active sprint, else the last
one listed, ``sprint_ids`` every sprint id; ``story_points`` is the number in the story point
field; ``description`` is plain text (:mod:`spark_jobs.jira.adf`); date-times are UTC.
Custom fields become ``cf_*`` text columns (:mod:`spark_jobs.jira.fields`) and, all of them,
the JSON object ``custom_fields``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from spark_jobs.jira.adf import adf_to_text
from spark_jobs.jira.fields import SPRINT_CUSTOM_TYPE, STORY_POINT_NAMES, custom_field_columns, find_field
from spark_jobs.jira.jql import parse_jira_datetime

# (column, Spark SQL type): the fixed part of the reporting table, in order
STANDARD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("issue_id", "bigint"), ("issue_key", "string"), ("project_id", "string"), ("project_key", "string"),
    ("project_name", "string"), ("issue_type", "string"), ("is_subtask", "boolean"), ("summary", "string"),
    ("description", "string"), ("status", "string"), ("status_category", "string"),
    ("status_category_name", "string"), ("priority", "string"), ("resolution", "string"),
    ("assignee_account_id", "string"), ("assignee_name", "string"), ("reporter_account_id", "string"),
    ("reporter_name", "string"), ("labels", "string"), ("components", "string"), ("fix_versions", "string"),
    ("parent_id", "bigint"), ("parent_key", "string"), ("sprint", "string"), ("sprint_ids", "string"),
    ("story_points", "double"), ("created", "timestamp"), ("updated", "timestamp"), ("resolved", "timestamp"),
    ("due_date", "date"), ("custom_fields", "string"),
)  # fmt: skip


@dataclass(frozen=True)
class FieldMap:
    """What the catalog tells the flattening: custom columns, story point and sprint fields."""

    custom_columns: Mapping[str, str]
    story_points_field: str | None
    sprint_field: str | None

    @classmethod
    def from_catalog(cls, catalog: list[Mapping[str, Any]]) -> FieldMap:
        return cls(
            custom_columns=custom_field_columns(catalog),
            story_points_field=find_field(catalog, names=STORY_POINT_NAMES),
            sprint_field=find_field(catalog, names=("sprint",), custom_type=SPRINT_CUSTOM_TYPE),
        )

    @property
    def columns(self) -> list[tuple[str, str]]:
        return [*STANDARD_COLUMNS, *((c, "string") for c in sorted(self.custom_columns.values()))]


def utc(value: str | None) -> datetime | None:
    return parse_jira_datetime(value).astimezone(UTC) if value else None


def _name(value: Any, key: str = "name") -> str | None:
    return str(value[key]) if isinstance(value, Mapping) and value.get(key) is not None else None


def _names(values: Any) -> str | None:
    if not values:
        return None
    return ",".join(str(v["name"]) if isinstance(v, Mapping) else str(v) for v in values)


def custom_text(value: Any) -> str | None:
    """A custom field value as text: option ``value``, user ``displayName``, ``name``, ADF as
    text, lists joined by ``, ``, numbers without a trailing ``.0``; other objects as JSON."""
    if value is None or value == []:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, list):
        return ", ".join(t for t in (custom_text(v) for v in value) if t is not None)
    if isinstance(value, Mapping):
        if value.get("type") == "doc":
            return adf_to_text(value)
        for key in ("value", "displayName", "name"):
            if value.get(key) is not None:
                return str(value[key])
    return json.dumps(value, sort_keys=True)


def _sprints(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, list) or not value:
        return None, None
    sprints = [s for s in value if isinstance(s, Mapping)]
    active = [s for s in sprints if s.get("state") == "active"]
    current = (active or sprints)[-1] if sprints else None
    return _name(current), ",".join(str(s.get("id")) for s in sprints) or None


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def flatten_issue(issue: Mapping[str, Any], field_map: FieldMap) -> dict[str, Any]:
    """The reporting row of ``issue`` (keys: :attr:`FieldMap.columns`)."""
    fields: Mapping[str, Any] = issue.get("fields") or {}
    status = fields.get("status") or {}
    category = status.get("statusCategory") or {}
    project = fields.get("project") or {}
    issue_type = fields.get("issuetype") or {}
    assignee = fields.get("assignee") or {}
    reporter = fields.get("reporter") or {}
    parent = fields.get("parent") or {}
    sprint, sprint_ids = (
        _sprints(fields.get(field_map.sprint_field)) if field_map.sprint_field else (None, None)
    )
    due = fields.get("duedate")
    row: dict[str, Any] = {
        "issue_id": int(issue["id"]),
        "issue_key": issue.get("key"),
        "project_id": _name(project, "id"),
        "project_key": _name(project, "key"),
        "project_name": _name(project),
        "issue_type": _name(issue_type),
        "is_subtask": issue_type.get("subtask") if issue_type else None,
        "summary": fields.get("summary"),
        "description": adf_to_text(fields.get("description")),
        "status": _name(status),
        "status_category": _name(category, "key"),
        "status_category_name": _name(category),
        "priority": _name(fields.get("priority")),
        "resolution": _name(fields.get("resolution")),
        "assignee_account_id": assignee.get("accountId"),
        "assignee_name": assignee.get("displayName"),
        "reporter_account_id": reporter.get("accountId"),
        "reporter_name": reporter.get("displayName"),
        "labels": ",".join(fields.get("labels") or []) or None,
        "components": _names(fields.get("components")),
        "fix_versions": _names(fields.get("fixVersions")),
        "parent_id": int(parent["id"]) if parent.get("id") else None,
        "parent_key": parent.get("key"),
        "sprint": sprint,
        "sprint_ids": sprint_ids,
        "story_points": _float(fields.get(field_map.story_points_field))
        if field_map.story_points_field
        else None,
        "created": utc(fields.get("created")),
        "updated": utc(fields.get("updated")),
        "resolved": utc(fields.get("resolutiondate")),
        "due_date": date.fromisoformat(due) if due else None,
    }
    custom = {
        column: custom_text(fields.get(field_id)) for field_id, column in field_map.custom_columns.items()
    }
    row.update(custom)
    row["custom_fields"] = json.dumps(
        {k: v for k, v in sorted(custom.items()) if v is not None}, sort_keys=True
    )
    return row


def status_changes(issue_id: str, history: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of the status-history table from one changelog history entry (status items only)."""
    author = history.get("author") or {}
    rows = []
    for index, item in enumerate(history.get("items") or []):
        if item.get("fieldId") != "status" and item.get("field") != "status":
            continue
        rows.append(
            {
                "issue_id": int(issue_id),
                "history_id": int(history["id"]),
                "item_index": index,
                "from_status": item.get("fromString"),
                "to_status": item.get("toString"),
                "from_status_id": item.get("from"),
                "to_status_id": item.get("to"),
                "changed_at": utc(history.get("created")),
                "author_account_id": author.get("accountId"),
                "author_name": author.get("displayName"),
            }
        )
    return rows


STATUS_HISTORY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("issue_id", "bigint"), ("history_id", "bigint"), ("item_index", "int"), ("from_status", "string"),
    ("to_status", "string"), ("from_status_id", "string"), ("to_status_id", "string"),
    ("changed_at", "timestamp"), ("author_account_id", "string"), ("author_name", "string"),
)  # fmt: skip
