"""One sync of a Jira site: search the issues changed since the cursor, land them, commit.

Steps (calls in brackets):

1. the account's time zone [``GET /rest/api/3/myself``] and the field catalog
   [``GET /rest/api/3/field``], landed for the transform's column names;
2. page through ``POST /rest/api/3/search/jql`` (``nextPageToken`` until the last page) with
   ``updated >= <cursor - lookback>`` in the account's time zone, ``ORDER BY updated ASC``
   [ceil(changed / page size)]; every page lands as JSON lines with the sync's metadata;
3. reconcile ids: every issue id of the scope [``fields=id``, ceil(issues / 5000)]; the
   transform removes issues that are gone from the reporting tables;
4. completeness: if the result set changed under the paging (an issue came back at a new
   version, or one we saw is gone, so an offset may have moved and skipped an issue), page the
   window again; after ``max_paging_attempts`` the sync commits but keeps the old cursor;
5. full changelogs of issues whose search changelog was truncated
   [``GET /rest/api/3/issue/{id}/changelog``, paged];
6. commit: ``_manifest.json`` (atomic), then the cursor (atomic) = the newest ``updated`` seen.

A sync that fails or is killed before step 6 leaves no manifest and the old cursor: its rerun
searches the same window again, and the raw table's (issue id, updated) dedupe makes the
overlap harmless, so a version is neither lost nor duplicated.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from spark_jobs.common.lake import read_json, write_atomic, write_json_atomic
from spark_jobs.jira.client import JiraClient
from spark_jobs.jira.jql import jql_datetime, parse_jira_datetime, reconciliation_jql, sync_jql
from spark_jobs.jira.layout import MANIFEST, SiteLayout

log = logging.getLogger(__name__)

SEARCH_PATH = "/rest/api/3/search/jql"
RECONCILE_PAGE_SIZE = 5000  # the API's maximum when only ids are requested
CHANGELOG_PAGE_SIZE = 100


class SyncError(RuntimeError):
    """The sync cannot run as configured (message names what to fix)."""


@dataclass(frozen=True)
class SyncOptions:
    """What to fetch. ``fields``: ``("*all",)`` or field ids; ``lookback``: subtracted from the
    cursor (covers minute precision and search-index lag; at least one minute);
    ``since``: a lower bound that replaces the cursor (backfill); ``full``: ignore the cursor."""

    projects: tuple[str, ...] = ()
    fields: tuple[str, ...] = ("*all",)
    page_size: int = 100
    lookback: timedelta = timedelta(minutes=15)
    changelog: bool = True
    max_paging_attempts: int = 3
    full: bool = False
    since: datetime | None = None

    def __post_init__(self) -> None:
        if self.lookback < timedelta(minutes=1):
            raise SyncError("lookback must be at least 1 minute: JQL date-times are to the minute.")
        if not 1 <= self.page_size <= 5000:
            raise SyncError("page_size must be between 1 and 5000.")


@dataclass
class SyncResult:
    sync_id: str
    sync_date: str
    jql: str
    full: bool
    time_zone: str
    cursor_before: str | None
    cursor_after: str | None
    clean: bool
    attempts: int
    pages: int
    issues: int
    versions: int
    in_scope: int
    changelogs_fetched: int
    api_calls: dict[str, int] = field(default_factory=dict)
    retried_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The summary; ``api_calls`` counts answered requests per path (a request answered 429
        or 5xx and sent again counts once, its rejected tries are ``retried_calls``)."""
        return {**self.__dict__, "api_calls_total": sum(self.api_calls.values())}


def read_cursor(layout: SiteLayout) -> dict[str, Any] | None:
    return read_json(layout.cursor_uri)


def _jsonl(records: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, sort_keys=True, separators=(",", ":")).encode() + b"\n" for r in records)


def _changelog_truncated(issue: dict[str, Any]) -> bool:
    changelog = issue.get("changelog")
    if not isinstance(changelog, dict):
        return False
    histories = changelog.get("histories") or []
    total = changelog.get("total")
    return isinstance(total, int) and total > len(histories)


class SiteSync:
    """Runs syncs of one site into ``layout``; ``now`` is injectable for tests."""

    def __init__(
        self,
        client: JiraClient,
        layout: SiteLayout,
        options: SyncOptions,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.layout = layout
        self.options = options
        self.now = now

    def run(self) -> SyncResult:
        started = self.now()
        sync_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        sync_date = f"{started:%Y-%m-%d}"
        folder = self.layout.sync_folder(sync_date, sync_id)
        state = None if self.options.full else read_cursor(self.layout)
        cursor_before = state["cursor"] if state else None

        time_zone = self._time_zone()
        write_json_atomic(f"{folder}/fields.json", self.client.get("/rest/api/3/field"))

        lower = None
        if self.options.since is not None:
            lower = jql_datetime(self.options.since, time_zone)
        elif cursor_before:
            lower = jql_datetime(parse_jira_datetime(cursor_before) - self.options.lookback, time_zone)
        jql = sync_jql(self.options.projects, lower)
        meta = {"sync_id": sync_id, "jql": jql, "synced_at": started.isoformat(), "time_zone": time_zone}
        log.info("Sync %s: %s", sync_id, jql)

        files: list[str] = ["fields.json"]
        latest: dict[str, dict[str, Any]] = {}
        versions: set[tuple[str, str]] = set()
        pages = 0
        clean = False
        in_scope: set[str] = set()
        attempt = 0
        for attempt in range(1, self.options.max_paging_attempts + 1):
            seen: dict[str, int] = {}
            for page, issues in enumerate(self._search(jql), start=1):
                name = f"issues-a{attempt}-p{page:05d}.jsonl"
                page_records = [
                    {"_sync": {**meta, "attempt": attempt, "page": page}, "issue": i} for i in issues
                ]
                write_atomic(f"{folder}/{name}", _jsonl(page_records))
                files.append(name)
                pages += 1
                for issue in issues:
                    issue_id = str(issue["id"])
                    seen[issue_id] = seen.get(issue_id, 0) + 1
                    updated = str(issue.get("fields", {}).get("updated"))
                    versions.add((issue_id, updated))
                    known = latest.get(issue_id)
                    if known is None or parse_jira_datetime(updated) >= parse_jira_datetime(
                        str(known["fields"]["updated"])
                    ):
                        latest[issue_id] = issue
            in_scope = self._reconcile()
            repeated = sorted(i for i, n in seen.items() if n > 1)
            vanished = sorted(set(seen) - in_scope)
            if not repeated and not vanished:
                clean = True
                break
            log.warning(
                "Sync %s: issues changed while paging (seen twice: %s; gone: %s); an offset may have "
                "moved, paging the window again (attempt %d of %d)",
                sync_id, repeated[:10], vanished[:10], attempt, self.options.max_paging_attempts,
            )  # fmt: skip
        write_atomic(
            f"{folder}/reconciliation.jsonl",
            _jsonl([{"_sync": meta, "id": issue_id} for issue_id in sorted(in_scope, key=int)]),
        )
        files.append("reconciliation.jsonl")

        changelogs = 0
        if self.options.changelog:
            truncated = [i for i in latest.values() if _changelog_truncated(i)]
            records = []
            for issue in truncated:
                for history in self._full_changelog(str(issue["id"])):
                    records.append(
                        {
                            "_sync": meta,
                            "issue_id": str(issue["id"]),
                            "issue_updated": issue["fields"]["updated"],
                            "history": history,
                        }
                    )
            changelogs = len(truncated)
            write_atomic(f"{folder}/changelogs.jsonl", _jsonl(records))
            files.append("changelogs.jsonl")

        newest = max((parse_jira_datetime(u) for _, u in versions), default=None)
        cursor_after = cursor_before
        if clean and newest is not None:
            candidate = newest.isoformat()
            if cursor_before is None or newest > parse_jira_datetime(cursor_before):
                cursor_after = candidate
        result = SyncResult(
            sync_id=sync_id,
            sync_date=sync_date,
            jql=jql,
            full=lower is None,
            time_zone=time_zone,
            cursor_before=cursor_before,
            cursor_after=cursor_after,
            clean=clean,
            attempts=attempt,
            pages=pages,
            issues=len(latest),
            versions=len(versions),
            in_scope=len(in_scope),
            changelogs_fetched=changelogs,
            api_calls={k: n - self.client.retried[k] for k, n in self.client.calls.items()},
            retried_calls=sum(self.client.retried.values()),
        )
        manifest = {**result.as_dict(), "files": files, "finished_at": self.now().isoformat()}
        write_json_atomic(f"{folder}/{MANIFEST}", manifest)  # the commit point of the sync
        if cursor_after is not None and cursor_after != cursor_before:
            write_json_atomic(
                self.layout.cursor_uri,
                {"cursor": cursor_after, "sync_id": sync_id, "committed_at": self.now().isoformat()},
            )
        if not clean:
            log.warning("Sync %s committed without moving the cursor: the next sync repeats it.", sync_id)
        return result

    # -- API calls ----------------------------------------------------------------------------

    def _time_zone(self) -> str:
        myself = self.client.get("/rest/api/3/myself")
        time_zone = (myself or {}).get("timeZone")
        if not time_zone:
            raise SyncError(
                "GET /rest/api/3/myself returned no timeZone for the connection's account, so JQL "
                "date-times cannot be interpreted; let the account show its time zone (profile "
                "visibility) or use another account."
            )
        return str(time_zone)

    def _search(self, jql: str) -> Iterator[list[dict[str, Any]]]:
        """The pages of a search (``nextPageToken`` until the last page; there is no total)."""
        body: dict[str, Any] = {
            "jql": jql,
            "fields": list(self.options.fields),
            "maxResults": self.options.page_size,
        }
        if self.options.changelog:
            body["expand"] = "changelog"
        token = None
        while True:
            page = self.client.post(SEARCH_PATH, {**body, **({"nextPageToken": token} if token else {})})
            yield list(page.get("issues") or [])
            token = page.get("nextPageToken")
            if not token or page.get("isLast"):
                return

    def _reconcile(self) -> set[str]:
        """Ids of every issue in scope (fields=id: the cheapest page)."""
        jql = reconciliation_jql(self.options.projects)
        ids: set[str] = set()
        token = None
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": ["id"], "maxResults": RECONCILE_PAGE_SIZE}
            if token:
                body["nextPageToken"] = token
            page = self.client.post(SEARCH_PATH, body, label=SEARCH_PATH + " (reconciliation)")
            ids.update(str(issue["id"]) for issue in page.get("issues") or [])
            token = page.get("nextPageToken")
            if not token or page.get("isLast"):
                return ids

    def _full_changelog(self, issue_id: str) -> Iterator[dict[str, Any]]:
        """Every history entry of an issue (``GET /rest/api/3/issue/{id}/changelog``, paged)."""
        start = 0
        while True:
            page = self.client.get(
                f"/rest/api/3/issue/{issue_id}/changelog",
                {"startAt": start, "maxResults": CHANGELOG_PAGE_SIZE},
                label="/rest/api/3/issue/{id}/changelog",
            )
            values = list(page.get("values") or [])
            yield from values
            start += len(values)
            total = page.get("total")
            if page.get("isLast") or not values or (isinstance(total, int) and start >= total):
                return
