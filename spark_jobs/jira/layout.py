"""Where a Jira site's data lives in the lake (``<lake>/jira/<site>/...``).

::

    landing/sync_date=<yyyy-mm-dd>/sync_id=<id>/   one sync, as returned by the API:
        issues-a<attempt>-p<page>.jsonl            search pages ({"_sync": {...}, "issue": {...}})
        changelogs.jsonl                           full changelogs of issues whose search
                                                   changelog was truncated
        reconciliation.jsonl                       ids of every issue in scope after the sync
        fields.json                                GET /rest/api/3/field
        _manifest.json                             written last: the sync is committed
    tables/<table>/run=<run_id>/                   Spark outputs: issues_raw, issues,
                                                   issues_changes, status_history
    _state/cursor.json                             the committed cursor (moves after a commit)
    _state/results/<run_id>.json                   the transform's result (files, counts)

A sync folder without ``_manifest.json`` belongs to a sync that failed or was killed: readers
ignore it, and the cursor did not move.
"""

from __future__ import annotations

from dataclasses import dataclass

from spark_jobs.common.lake import join_uri

MANIFEST = "_manifest.json"


@dataclass(frozen=True)
class SiteLayout:
    lake_root: str
    site: str

    @property
    def root(self) -> str:
        return join_uri(self.lake_root, "jira", self.site)

    @property
    def landing(self) -> str:
        return join_uri(self.root, "landing")

    def sync_folder(self, sync_date: str, sync_id: str) -> str:
        return join_uri(self.landing, f"sync_date={sync_date}", f"sync_id={sync_id}")

    @property
    def cursor_uri(self) -> str:
        return join_uri(self.root, "_state", "cursor.json")

    def result_uri(self, run_id: str) -> str:
        return join_uri(self.root, "_state", "results", f"{safe(run_id)}.json")

    def table_uri(self, table: str, run_id: str) -> str:
        return join_uri(self.root, "tables", table, f"run={safe(run_id)}")


def safe(text: str) -> str:
    """A path segment from a run id (``scheduled__2026-01-15T00:00:00+00:00`` -> scheduled__2026-01-15T00_00_00_00_00)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)
