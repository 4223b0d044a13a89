"""Read what syncs landed (committed syncs only), without Spark."""

from __future__ import annotations

import json
from typing import Any

from spark_jobs.common.lake import read_bytes
from spark_jobs.jira.layout import SiteLayout
from spark_jobs.jira.transform import committed_syncs as transform_syncs


def committed_syncs(layout: SiteLayout) -> list[dict[str, Any]]:
    """Each committed sync's manifest with its ``folder``, in the transform's (commit) order."""
    return [{**sync.manifest, "folder": sync.folder} for sync in transform_syncs(layout)]


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
