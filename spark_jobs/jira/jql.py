"""JQL of the sync: the window on ``updated`` written in the Jira user's time zone.

Jira interprets a JQL date-time such as ``"2026/01/15 09:30"`` in the time zone of the user who
runs the search (the connection's account, ``GET /rest/api/3/myself`` -> ``timeZone``) and only
to the minute. :func:`jql_datetime` therefore converts an instant to that zone and rounds *down*
to the minute, and steps back over a daylight-saving fold, so that every reading Jira may give
the string is at or before the instant: the window can only grow, never lose an issue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

JQL_DATETIME_FORMAT = "%Y/%m/%d %H:%M"
# Jira's `updated` field: 2026-01-15T09:30:12.345+0100
JIRA_DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z")
EPOCH_LOWER_BOUND = "1970/01/01 00:00"  # a full sync: /search/jql refuses unbounded JQL
_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]*")


def parse_jira_datetime(value: str) -> datetime:
    """An aware datetime from Jira's ``2026-01-15T09:30:12.345+0100`` (or ISO 8601 with ``:``)."""
    for fmt in JIRA_DATETIME_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"Jira date-time {value!r} has no UTC offset")
    return moment


def jql_datetime(instant: datetime, time_zone: str) -> str:
    """``yyyy/MM/dd HH:mm`` in ``time_zone`` such that every local reading is <= ``instant``."""
    zone = ZoneInfo(time_zone)
    local = instant.astimezone(zone).replace(second=0, microsecond=0, tzinfo=None)
    while True:
        readings = [local.replace(tzinfo=zone, fold=fold) for fold in (0, 1)]
        latest = max(reading.astimezone(instant.tzinfo) for reading in readings)
        if latest <= instant:
            return local.strftime(JQL_DATETIME_FORMAT)
        local -= timedelta(minutes=1) if latest - instant < timedelta(minutes=2) else latest - instant


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scope_clause(projects: Sequence[str]) -> str | None:
    """``project in ("A", "B")`` or None (every project the account can browse)."""
    for key in projects:
        if not _PROJECT_KEY.fullmatch(key):
            raise ValueError(f"project {key!r} is not a Jira project key (upper-case letters, digits, _)")
    if not projects:
        return None
    return f"project in ({', '.join(quote(p) for p in projects)})"


def sync_jql(projects: Sequence[str], lower_bound: str | None) -> str:
    """The search of a sync: issues of the scope updated since ``lower_bound``, oldest first."""
    clauses = [c for c in (scope_clause(projects),) if c]
    clauses.append(f"updated >= {quote(lower_bound or EPOCH_LOWER_BOUND)}")
    return " AND ".join(clauses) + " ORDER BY updated ASC"


def reconciliation_jql(projects: Sequence[str]) -> str:
    """Every issue of the scope (ids only are fetched): what still exists in Jira."""
    scope = scope_clause(projects) or f"created >= {quote(EPOCH_LOWER_BOUND)}"
    return scope + " ORDER BY created ASC"
