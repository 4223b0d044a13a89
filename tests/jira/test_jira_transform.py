"""The Spark transform on syncs of the stand-in: raw versions, latest per issue, deletions,
status history, custom-field columns."""

from __future__ import annotations

import json

import pytest

from data_platform.local.jira_sample import change_issues
from spark_jobs.jira.sync import SiteSync, SyncOptions
from spark_jobs.jira.transform import build_tables

pytestmark = pytest.mark.spark


def _sync(make_client, layout):
    return SiteSync(make_client(), layout, SyncOptions(page_size=7)).run()


def _rows(frame):
    return {row["issue_id"]: row.asDict() for row in frame.collect()}


def test_full_then_incremental_gives_the_latest_version_of_every_live_issue(spark, jira, make_client, layout):
    ids = jira.state.seed_ids
    _sync(make_client, layout)
    changes = change_issues(jira.state, ids)
    _sync(make_client, layout)
    _sync(make_client, layout)  # a repeat that lands nothing new must change nothing

    tables, facts = build_tables(spark, layout)
    live = jira.state.current_issues()
    issues = _rows(tables["issues"])
    assert set(issues) == {int(i) for i in live}
    for issue_id, issue in live.items():
        row = issues[int(issue_id)]
        assert row["issue_key"] == issue["key"] and row["summary"] == issue["fields"]["summary"]
        assert row["status"] == issue["fields"]["status"]["name"]
    moved = issues[int(changes.moved[0])]
    assert moved["project_key"] == "WEB" and moved["issue_key"].startswith("WEB-")
    done = issues[int(changes.edited[1])]
    assert (done["status"], done["status_category"], done["resolution"]) == ("Done", "done", "Done")
    assert done["resolved"] is not None

    raw = tables["issues_raw"].collect()
    keys = [(r["issue_id"], r["updated"]) for r in raw]
    assert len(keys) == len(set(keys)), "one row per (issue id, updated) in the raw table"
    assert int(changes.deleted[0]) in {r["issue_id"] for r in raw}, "deleted issues stay in raw history"
    assert len([k for k in keys if k[0] == int(changes.edited[1])]) == 2  # seed version + latest

    changes_rows = tables["issues_changes"].collect()
    assert {(r["issue_id"], r["_op"]) for r in changes_rows if r["_op"] == "D"} == {
        (int(changes.deleted[0]), "D")
    }
    assert facts["syncs"] == 3


def test_latest_version_is_chosen_by_updated_not_by_sync_order(spark, jira, make_client, layout):
    issue_id = jira.state.seed_ids[9]
    _sync(make_client, layout)
    jira.state.edit_issue(issue_id, "u-ana", summary="newest")
    _sync(make_client, layout)
    # a third sync landing an OLDER version (e.g. a replayed page) must not win
    old = json.loads(json.dumps(jira.state.issues[issue_id]))
    jira.state.issues[issue_id]["fields"]["updated"] = "2026-01-14T08:00:00.000+0000"
    jira.state.issues[issue_id]["fields"]["summary"] = "older"
    SiteSync(make_client(), layout, SyncOptions(page_size=50, full=True)).run()
    jira.state.issues[issue_id] = old
    issues = _rows(build_tables(spark, layout)[0]["issues"])
    assert issues[int(issue_id)]["summary"] == "newest"


def test_custom_fields_status_history_and_description(spark, jira, make_client, layout):
    ids = jira.state.seed_ids
    _sync(make_client, layout)
    tables, facts = build_tables(spark, layout)
    assert facts["custom_columns"]["customfield_10100"] == "cf_team"
    assert facts["custom_columns"]["customfield_10101"] == "cf_team_10101"
    issues = _rows(tables["issues"])
    row = issues[int(ids[4])]
    assert row["cf_team"] == "Payments" and row["cf_team_10101"] == "squad-0"
    assert row["story_points"] is None and issues[int(ids[3])]["story_points"] == 3.0
    assert issues[int(ids[1])]["sprint"] == "Sprint 2" and issues[int(ids[1])]["sprint_ids"] == "1,2"
    assert issues[int(ids[0])]["description"] == "Everything about the platform.\nSecond paragraph."
    assert issues[int(ids[1])]["parent_key"] == "OPS-1" and issues[int(ids[2])]["parent_key"] is None

    history = tables["status_history"].where(f"issue_id = {ids[1]}").orderBy("changed_at").collect()
    assert len(history) == 24, "the full changelog, not the 20 entries of the search"
    assert (history[0]["from_status"], history[0]["to_status"]) == ("To Do", "In Progress")
    assert history[0]["author_name"] == "Ben Okafor"
