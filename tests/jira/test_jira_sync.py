"""The sync against the Jira stand-in: full then incremental, paging, completeness, commit."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from data_platform.local.jira_sample import change_issues
from spark_jobs.common.lake import read_json
from spark_jobs.jira.jql import jql_datetime, parse_jira_datetime
from spark_jobs.jira.sync import SiteSync, SyncOptions
from tests.jira.landing import committed_syncs, current_versions, landed_issues, versions

PAGE = 5


def _sync(make_client, layout, **options):
    client = make_client()
    return SiteSync(client, layout, SyncOptions(page_size=PAGE, **options)).run(), client


def test_full_then_incremental_lands_every_current_version(jira, make_client, layout):
    ids = jira.state.seed_ids
    full, _ = _sync(make_client, layout)
    assert full.full and full.clean and full.issues == len(ids)
    assert full.pages == math.ceil(len(ids) / PAGE)
    assert versions(layout) == current_versions(jira.state.current_issues())
    assert read_json(layout.cursor_uri)["cursor"] == full.cursor_after

    changes = change_issues(jira.state, ids)
    incremental, client = _sync(make_client, layout)

    assert not incremental.full
    assert versions(layout) >= current_versions(jira.state.current_issues())
    seen = {
        r["issue"]["id"]: r["issue"]
        for r in landed_issues(layout)
        if r["_sync"]["sync_id"] == incremental.sync_id
    }  # noqa: E501
    assert set(changes.edited) | set(changes.created) | set(changes.moved) <= set(seen)
    moved = seen[changes.moved[0]]
    assert moved["key"].startswith("WEB-") and moved["fields"]["project"]["key"] == "WEB"
    # the deleted issue is gone from the reconciliation, which the transform uses
    reconciliation = set(_reconciliation(layout, incremental))
    assert changes.deleted[0] not in reconciliation and changes.created[0] in reconciliation
    # calls: the changed issues' pages + one reconciliation page + myself + field (+ a changelog)
    assert client.calls["/rest/api/3/search/jql"] == math.ceil(incremental.issues / PAGE)
    assert client.calls["/rest/api/3/search/jql (reconciliation)"] == 1
    assert incremental.issues <= changes.changed_in_scope + 2  # the lookback may repeat a few


def _reconciliation(layout, result):
    import json

    from spark_jobs.common.lake import read_bytes

    (sync,) = [s for s in committed_syncs(layout) if s["sync_id"] == result.sync_id]
    return [
        json.loads(line)["id"] for line in read_bytes(f"{sync['folder']}/reconciliation.jsonl").splitlines()
    ]


def test_the_window_is_written_in_the_accounts_time_zone(jira, make_client, layout):
    full, _ = _sync(make_client, layout)
    incremental, _ = _sync(make_client, layout, lookback=timedelta(minutes=10))
    cursor = parse_jira_datetime(full.cursor_after)
    expected = (cursor - timedelta(minutes=10)).astimezone(ZoneInfo("America/New_York"))
    assert f'updated >= "{expected:%Y/%m/%d %H:%M}"' in incremental.jql
    # nothing changed: only the issues inside the lookback come back, every one already landed
    assert incremental.issues >= 1 and versions(layout) == current_versions(jira.state.current_issues())


def test_jql_datetime_never_reads_later_than_the_instant():
    # 2026-10-25 02:30 happens twice in Berlin; both readings must be <= the instant
    instant = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first reading
    text = jql_datetime(instant, "Europe/Berlin")
    assert text <= "2026/10/25 02:30"
    assert jql_datetime(datetime(2026, 1, 15, 8, 30, 59, tzinfo=UTC), "Asia/Kolkata") == "2026/01/15 14:00"


def test_an_edit_landing_while_paging_is_not_lost_and_no_issue_is_skipped(jira, make_client, layout):
    ids = jira.state.seed_ids
    first_page_issue = ids[0]  # the oldest update: on page 1

    def edit_once(page: int) -> None:
        if page == 1 and not jira.state.after_search_page_done:
            jira.state.after_search_page_done = True
            # moves an issue already read to the end: with offset paging the next page would
            # skip one issue unless the sync notices and pages again
            jira.state.edit_issue(first_page_issue, "u-ana", summary="edited while paging")

    jira.state.after_search_page_done = False
    jira.state.after_search_page.append(edit_once)
    result, _ = _sync(make_client, layout)

    assert result.attempts == 2 and result.clean
    assert versions(layout) >= current_versions(jira.state.current_issues())


def test_a_sync_killed_mid_paging_commits_nothing_and_its_rerun_loses_nothing(jira, make_client, layout):
    _sync(make_client, layout)
    cursor = read_json(layout.cursor_uri)
    changes = change_issues(jira.state, jira.state.seed_ids)
    for n in range(12):  # enough changes for several pages
        jira.state.edit_issue(jira.state.seed_ids[8 + n], "u-ben", summary=f"bulk edit {n}")

    class Killed(BaseException):
        pass

    client = make_client()
    original = client.post
    pages = {"n": 0}

    def dying_post(path, body, **kwargs):
        pages["n"] += 1
        if pages["n"] == 2:
            raise Killed("the pod was killed")
        return original(path, body, **kwargs)

    client.post = dying_post
    with pytest.raises(Killed):
        SiteSync(client, layout, SyncOptions(page_size=PAGE)).run()
    assert read_json(layout.cursor_uri) == cursor, "a failed sync must not move the cursor"
    assert len(committed_syncs(layout)) == 1

    rerun, _ = _sync(make_client, layout)
    assert rerun.clean and len(committed_syncs(layout)) == 2
    assert versions(layout) >= current_versions(jira.state.current_issues())
    assert set(changes.created) <= {i for i, _ in versions(layout)}


def test_truncated_changelogs_are_fetched_in_full(jira, make_client, layout):
    import json

    from spark_jobs.common.lake import read_bytes

    result, client = _sync(make_client, layout)
    busy = jira.state.seed_ids[1]
    (sync,) = committed_syncs(layout)
    lines = [json.loads(x) for x in read_bytes(f"{sync['folder']}/changelogs.jsonl").splitlines()]
    histories = [x["history"] for x in lines if x["issue_id"] == busy]
    assert len(histories) == len(jira.state.histories[busy]) == 24
    assert client.calls["/rest/api/3/issue/{id}/changelog"] == 1 and result.changelogs_fetched == 1


def test_project_filter_limits_search_and_reconciliation(jira, make_client, layout):
    result, _ = _sync(make_client, layout, projects=("WEB",))
    web = [i for i in jira.state.current_issues().values() if i["fields"]["project"]["key"] == "WEB"]
    assert result.jql.startswith('project in ("WEB") AND') and result.issues == result.in_scope == len(web)


def test_syncs_started_within_one_second_are_ordered_by_commit(jira, make_client, layout, monkeypatch):
    """Sync ids carry their start to the second; the transform's newest sync (whose
    reconciliation decides deletions) must be the last committed even when ids sort otherwise."""
    from spark_jobs.jira import sync as sync_module
    from spark_jobs.jira.transform import committed_syncs as transform_syncs

    moments = iter(datetime(2026, 12, 1, 5, 8, 5, n, tzinfo=UTC) for n in range(1000, 100_000, 1000))
    suffixes = iter(f"{n:08x}" for n in (0xFFFFFFFF, 0x80000000, 0x00000001))  # descending ids
    fake_uuid = SimpleNamespace(uuid4=lambda: SimpleNamespace(hex=next(suffixes)))
    monkeypatch.setattr(sync_module, "uuid", fake_uuid)
    ids = jira.state.seed_ids
    results = [SiteSync(make_client(), layout, SyncOptions(page_size=PAGE), now=lambda: next(moments)).run()]
    change_issues(jira.state, ids)
    results += [SiteSync(make_client(), layout, SyncOptions(page_size=PAGE), now=lambda: next(moments)).run()
                for _ in range(2)]  # fmt: skip

    assert len({r.sync_id[:16] for r in results}) == 1, "all three started within one second"
    assert sorted(r.sync_id for r in results) == [r.sync_id for r in reversed(results)]
    commit_order = [r.sync_id for r in results]
    assert [s.sync_id for s in transform_syncs(layout)] == commit_order
    assert [s["sync_id"] for s in committed_syncs(layout)] == commit_order
