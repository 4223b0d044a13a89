"""Column names of custom fields, from the field catalog (``GET /rest/api/3/field``).

Jira names are not unique (two "Team" fields are allowed) and ids (``customfield_10100``) mean
nothing to a reader. The rule, applied to the custom fields of the catalog:

1. the base name is ``cf_`` + the name in snake case (lower case, every run of characters other
   than letters and digits becomes ``_``), e.g. "Story point estimate" -> ``cf_story_point_estimate``;
2. among custom fields with the same base name, the one with the lowest numeric id keeps the
   base name and every other one gets ``_<numeric id>``: "Team" (10100) -> ``cf_team``,
   "Team" (10101) -> ``cf_team_10101``;
3. names are cut to 120 characters (Redshift allows 127) before the suffix.

So a column keeps its name when fields are added (a newer duplicate always has a higher id), and
the same catalog always gives the same names whatever order the API lists the fields in. A
renamed field gets a new column name (the old column stops being filled).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

STORY_POINT_NAMES = ("story point estimate", "story points")
SPRINT_CUSTOM_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
MAX_BASE = 120


def _numeric_id(field_id: str) -> int:
    match = re.search(r"(\d+)$", field_id)
    return int(match.group(1)) if match else 0


def base_column(name: str) -> str:
    snake = re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")
    return ("cf_" + snake)[:MAX_BASE] if snake else "cf"


def custom_field_columns(catalog: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``{custom field id: column name}`` for every custom field of the catalog."""
    custom = sorted(
        ((str(f["id"]), str(f.get("name") or f["id"])) for f in catalog if f.get("custom")),
        key=lambda item: (_numeric_id(item[0]), item[0]),
    )
    columns: dict[str, str] = {}
    taken: set[str] = set()
    for field_id, name in custom:
        column = base_column(name)
        if column in taken or column == "cf":
            column = f"{column}_{_numeric_id(field_id)}"
        taken.add(column)
        columns[field_id] = column
    return columns


def find_field(
    catalog: Iterable[Mapping[str, Any]], *, names: Iterable[str] = (), custom_type: str | None = None
) -> str | None:  # noqa: E501
    """The id of the lowest-numbered custom field with one of ``names`` (case-insensitive) or of
    ``custom_type`` (schema.custom): how story points and sprints are found on any site."""
    wanted = {n.lower() for n in names}
    matches = [
        str(f["id"])
        for f in catalog
        if f.get("custom")
        and (
            str(f.get("name", "")).lower() in wanted
            or (custom_type and (f.get("schema") or {}).get("custom") == custom_type)
        )
    ]
    return min(matches, key=_numeric_id) if matches else None
