"""jira_ingestion end to end through Airflow on the local target, against the Jira stand-in:
a full sync, then edits, creations, a move and a deletion, then an incremental sync; the
warehouse reporting table equals the stand-in's issues."""

from __future__ import annotations

import json

import pytest

from data_platform.lineage.tasks import process_events
from data_platform.local.demo import last_run, run_dag
from data_platform.local.jira_demo import expected_row
from data_platform.local.jira_sample import change_issues, seed_issues
from data_platform.local.jira_server import JiraStandIn, JiraState
from data_platform.local.lineage_demo import lineage_graph, walk_to_origin
from data_platform.settings import get_settings

pytestmark = [pytest.mark.e2e, pytest.mark.spark]


def _query(sql: str) -> list[tuple]:
    from airflow.sdk import BaseHook

    hook = BaseHook.get_connection(get_settings().warehouse_conn_id).get_hook()
    return hook.get_records(sql)


def test_full_then_incremental_sync_leaves_the_warehouse_equal_to_jira(airflow_runtime, tmp_path):
    with JiraStandIn(JiraState(time_zone="Asia/Tokyo", rate_limit_every=11)) as jira:
        ids = seed_issues(jira.state, 30)
        env = {**airflow_runtime, "AIRFLOW_CONN_JIRA_DEFAULT": json.dumps(jira.connection())}

        run_dag("jira_ingestion", "2026-01-15", env, tmp_path / "run1.log")
        first = last_run("jira_ingestion", env)
        assert first["state"] == "success", (tmp_path / "run1.log").read_text()[-3000:]
        assert _query("SELECT COUNT(*) FROM jira.issues")[0][0] == 30

        changes = change_issues(jira.state, ids)
        run_dag("jira_ingestion", "2026-01-16", env, tmp_path / "run2.log")
        second = last_run("jira_ingestion", env)
        assert second["state"] == "success", (tmp_path / "run2.log").read_text()[-3000:]

        (sync,) = second["values"]["sync_issues"]
        assert not sync["full"] and sync["clean"]
        assert sync["api_calls"]["/rest/api/3/search/jql"] == 1  # ceil(changed / 100)

        live = jira.state.current_issues()
        expected = {int(i): expected_row(issue) for i, issue in live.items()}
        columns = list(next(iter(expected.values())))
        rows = _query(f"SELECT {', '.join(columns)} FROM jira.issues")
        actual = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
        assert actual == expected
        assert int(changes.deleted[0]) not in actual and int(changes.moved[0]) in actual
        (check,) = second["values"]["check_issues"]
        assert check["checks_passed"] == check["checks_total"] > 0
    # the runs' OpenLineage events, processed as the lineage DAG does: the curated columns walk
    # back through the landed records to the Jira REST API fields
    assert process_events()["events_rejected"] == 0
    graph = lineage_graph(get_settings())
    walk_to_origin(graph, "jira.issues", "status")
    walk_to_origin(graph, "jira.status_history", "to_status")
