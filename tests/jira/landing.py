"""Read what syncs landed (committed syncs only), without Spark."""

from __future__ import annotations

import json
from typing import Any

from spark_jobs.common.lake import list_files, read_bytes, read_json
from spark_jobs.jira.jql import parse_jira_datetime
from spark_jobs.jira.layout import MANIFEST, SiteLayout


def committed_syncs(layout: SiteLayout) -> list[dict[str, Any]]:
    manifests = [f.uri for f in list_files(layout.landing) if f.uri.endswith("/" + MANIFEST)]
    syncs = [{**read_json(uri), "folder": uri.rsplit("/", 1)[0]} for uri in manifests]
    return sorted(syncs, key=lambda s: (parse_jira_datetime(s["finished_at"]), s["sync_id"]))  # commit order


def landed_issues(layout: SiteLayout) -> list[dict[str, Any]]:
    """Every issue record of every committed sync (with its _sync metadata)."""
    records = []
    for sync in committed_syncs(layout):
        for name in sync["files"]:
            if name.startswith("issues-"):
                for line in read_bytes(f"{sync['folder']}/{name}").splitlines():
                    records.append(json.loads(line))
    return records


def versions(layout: SiteLayout) -> set[tuple[str, str]]:
    return {(r["issue"]["id"], r["issue"]["fields"]["updated"]) for r in landed_issues(layout)}


def current_versions(issues: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    return {(i, issue["fields"]["updated"]) for i, issue in issues.items()}
