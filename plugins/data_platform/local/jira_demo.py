"""Demo hooks of the Jira ingestion: a Jira stand-in for the demo's runs, a round of changes
between the full and the incremental sync, and a field-by-field check of the warehouse."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from data_platform.local.jira_sample import ChangeRound, change_issues, seed_issues
from data_platform.local.jira_server import JiraStandIn, JiraState

if TYPE_CHECKING:
    from data_platform.settings import PlatformSettings

ISSUES = 150
_DEMO: dict[str, Any] = {}  # the stand-in serving this demo process, its issue ids, the change round


def start_site(settings: PlatformSettings) -> dict[str, str]:
    """Start a seeded stand-in (rate-limited: every 7th request gets 429 + Retry-After: 1) and
    return its connection for the runs. The demo's Jira is new each time, so its lake folder is
    cleared, and so are its warehouse tables: the first run is a full sync of a new site again
    (issues created and deleted by the last demo would otherwise stay in jira.issues)."""
    from data_platform.jira.pipeline import SECRET, ingestion_config
    from spark_jobs.common.lake import delete
    from spark_jobs.jira.layout import SiteLayout

    stop_site()
    server = JiraStandIn(JiraState(time_zone="Europe/Berlin", rate_limit_every=7)).start()
    _DEMO.update(server=server, ids=seed_issues(server.state, ISSUES))
    delete(SiteLayout(settings.lake_root, ingestion_config().site).root, recursive=True)
    empty_warehouse_tables(settings)
    conn_id = settings.secret_name(SECRET)
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(server.connection())}


def empty_warehouse_tables(settings: PlatformSettings) -> None:
    """Empty the config's ``jira.issues`` and ``jira.status_history`` where they exist."""
    from data_platform.jira.pipeline import ingestion_config
    from data_platform.warehouse.tables import TableName

    tables = ingestion_config().warehouse
    for table in (TableName.parse(tables.issues), TableName.parse(tables.status_history)):
        (found,) = _warehouse(settings, f"SELECT to_regclass('{table.sql('postgres')}') IS NOT NULL AS found")
        if found["found"]:
            _warehouse(settings, f"TRUNCATE {table.sql('postgres')}", fetch=False)


def stop_site() -> None:
    server = _DEMO.pop("server", None)
    if server is not None:
        server.stop()


def change_site(settings: PlatformSettings, run_index: int) -> None:
    """Before the second run: edits (one walked to Done), two creations, a move, a deletion."""
    if run_index == 1:
        _DEMO["changes"] = change_issues(_DEMO["server"].state, _DEMO["ids"])


def start_site_for_days(settings: PlatformSettings, days: list[date]) -> dict[str, str]:
    """:func:`start_site`, then one round of changes a day (at 09:00 UTC of each of ``days``, on
    other issues each day): the stand-in a backfill over ``days`` syncs from."""
    env = start_site(settings)
    state: JiraState = _DEMO["server"].state
    rounds = []
    for index, day in enumerate(days):
        state.clock = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        rounds.append(change_issues(state, _DEMO["ids"], offset=5 * index))
    _DEMO["changes"] = ChangeRound(*(tuple(i for r in rounds for i in getattr(r, kind))
                                     for kind in ("edited", "created", "moved", "deleted")))
    return env


def _text(document: Any) -> str | None:
    """The paragraphs' text of the stand-in's simple ADF descriptions, one per line."""
    if document is None:
        return None
    return "\n".join("".join(n["text"] for n in p["content"]) for p in document["content"])


def _utc(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC).replace(tzinfo=None)


def expected_row(issue: dict[str, Any]) -> dict[str, Any]:
    """The reporting row an issue of the stand-in must have, read straight from its fields."""
    f = issue["fields"]
    return {
        "issue_id": int(issue["id"]),
        "issue_key": issue["key"],
        "project_key": f["project"]["key"],
        "issue_type": f["issuetype"]["name"],
        "summary": f["summary"],
        "description": _text(f["description"]),
        "status": f["status"]["name"],
        "status_category": f["status"]["statusCategory"]["key"],
        "priority": f["priority"]["name"] if f["priority"] else None,
        "resolution": f["resolution"]["name"] if f["resolution"] else None,
        "assignee_account_id": f["assignee"]["accountId"] if f["assignee"] else None,
        "reporter_account_id": f["reporter"]["accountId"],
        "labels": ",".join(f["labels"]) or None,
        "components": ",".join(c["name"] for c in f["components"]) or None,
        "fix_versions": ",".join(v["name"] for v in f["fixVersions"]) or None,
        "parent_key": f["parent"]["key"] if f["parent"] else None,
        "story_points": f["customfield_10016"],
        "created": _utc(f["created"]),
        "updated": _utc(f["updated"]),
        "resolved": _utc(f["resolutiondate"]),
        "due_date": date.fromisoformat(f["duedate"]) if f["duedate"] else None,
    }


def _warehouse(settings: PlatformSettings, sql: str, fetch: bool = True) -> list[dict[str, Any]]:
    """Run ``sql`` on the warehouse (committed); its rows as dicts when ``fetch``."""
    from airflow.sdk import BaseHook

    hook = BaseHook.get_connection(settings.warehouse_conn_id).get_hook()
    connection = hook.get_conn()
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        rows: list[dict[str, Any]] = []
        if fetch:
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        connection.commit()
        return rows
    finally:
        connection.close()


def _last_sync(settings: PlatformSettings) -> dict[str, Any]:
    from data_platform.jira.pipeline import ingestion_config
    from spark_jobs.jira.layout import SiteLayout
    from spark_jobs.jira.transform import committed_syncs

    return committed_syncs(SiteLayout(settings.lake_root, ingestion_config().site))[-1].manifest


def verify(settings: PlatformSettings) -> str:
    """jira.issues equals the stand-in's current issues field by field, status history holds
    every status change; reports the API calls of the incremental sync against the minimum."""
    from data_platform.jira.pipeline import CONFIG_FILE
    from data_platform.paths import include_file
    from spark_jobs.jira.config import load_config

    try:
        state: JiraState = _DEMO["server"].state
        changes: ChangeRound = _DEMO["changes"]
        live = state.current_issues()
        expected = {int(i): expected_row(issue) for i, issue in live.items()}
        columns = list(next(iter(expected.values())))
        rows = _warehouse(settings, f"SELECT {', '.join(columns)} FROM jira.issues")
        actual = {r["issue_id"]: r for r in rows}
        assert set(actual) == set(expected), (
            f"jira.issues ids differ: missing {sorted(set(expected) - set(actual))[:5]}, "
            f"extra {sorted(set(actual) - set(expected))[:5]}"
        )
        for issue_id, want in expected.items():
            got = actual[issue_id]
            for column in columns:
                assert got[column] == want[column], (
                    f"issue {issue_id} {column}: {got[column]!r} != {want[column]!r}"
                )
        status_changes = sum(
            1
            for i in live
            for h in state.histories.get(i, [])
            for item in h["items"]
            if item["field"] == "status"
        )
        (history,) = _warehouse(settings, "SELECT COUNT(*) AS n FROM jira.status_history")
        assert history["n"] == status_changes, (
            f"jira.status_history has {history['n']} rows, expected {status_changes}"
        )

        sync = _last_sync(settings)
        calls = sync["api_calls"]
        page = load_config(str(include_file(CONFIG_FILE))).page_size
        search = calls.get("/rest/api/3/search/jql", 0)
        minimal_search = math.ceil(sync["issues"] / page) if sync["issues"] else 1
        assert search == minimal_search * sync["attempts"], f"search pages {search} != {minimal_search}"
        summary = (
            f"jira.issues equals the stand-in field by field ({len(expected)} issues x {len(columns)} columns; "
            f"{len(changes.edited)} edited, {len(changes.created)} created, {len(changes.moved)} moved, "
            f"{len(changes.deleted)} deleted), jira.status_history has all {status_changes} status changes.\n"
            f"  incremental sync {sync['sync_id']}: {sum(calls.values())} API calls = {search} search page(s) "
            f"(ceil({sync['issues']} returned / {page})) + {calls.get('/rest/api/3/search/jql (reconciliation)', 0)} "
            f"reconciliation + {calls.get('/rest/api/3/myself', 0) + calls.get('/rest/api/3/field', 0)} metadata "
            f"(myself, field) + {calls.get('/rest/api/3/issue/{id}/changelog', 0)} full changelog; "
            f"{changes.changed_in_scope} issues changed in scope; {sync['retried_calls']} request(s) answered 429 "
            "and sent again after Retry-After."
        )
        print(summary)
        return summary
    finally:
        stop_site()
