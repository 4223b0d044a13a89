"""Build the Jira tables from the committed syncs of a site (PySpark).

- ``issues_raw``: every version ever landed, one row per (issue id, ``updated``), the first
  observation kept, with its sync metadata and the record as returned (JSON);
- ``issues``: the reporting table, the latest version of each issue that still exists (by
  ``updated``; identity is the issue id, so a moved issue keeps its row under its new key);
- ``issues_changes``: what the warehouse merge loads: ``issues`` with ``_op = 'U'`` plus one
  ``_op = 'D'`` row per issue id that the newest reconciliation no longer lists (deleted in Jira
  or moved out of scope; its versions stay in ``issues_raw``);
- ``status_history``: every status change in the changelogs (issue, from, to, time, author),
  for issues that still exist.

Only syncs with a ``_manifest.json`` are read, and only the files it lists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spark_jobs.common.lake import list_files, read_bytes, read_json
from spark_jobs.jira.flatten import STATUS_HISTORY_COLUMNS, FieldMap, flatten_issue, status_changes, utc
from spark_jobs.jira.jql import parse_jira_datetime
from spark_jobs.jira.layout import MANIFEST, SiteLayout

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

RAW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("issue_id", "bigint"), ("updated", "timestamp"), ("issue_key", "string"), ("sync_id", "string"),
    ("synced_at", "timestamp"), ("sync_jql", "string"), ("sync_attempt", "int"), ("sync_page", "int"),
    ("record", "string"),
)  # fmt: skip
TABLES = ("issues_raw", "issues", "issues_changes", "status_history")


class NoSyncsError(RuntimeError):
    pass


@dataclass(frozen=True)
class CommittedSync:
    sync_id: str
    folder: str
    manifest: dict[str, Any]

    def files(self, prefix: str) -> list[str]:
        return [f"{self.folder}/{name}" for name in self.manifest["files"] if name.startswith(prefix)]


def committed_syncs(layout: SiteLayout) -> list[CommittedSync]:
    """The committed syncs of the site in commit order: by the manifest's ``finished_at``
    (microseconds, UTC), then the sync id. Sync ids start with their start time to the second
    only, so syncs started within one second (a quick rerun) would sort at random by id alone,
    and the newest reconciliation could be an older one."""
    syncs = []
    for found in list_files(layout.landing):
        if found.uri.endswith("/" + MANIFEST):
            manifest = read_json(found.uri)
            syncs.append(CommittedSync(manifest["sync_id"], found.uri.rsplit("/", 1)[0], manifest))
    return sorted(syncs, key=lambda s: (parse_jira_datetime(s.manifest["finished_at"]), s.sync_id))


def _schema(columns: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"`{name}` {kind}" for name, kind in columns)


def _raw_rows(lines: Iterable[str]) -> Iterator[tuple[Any, ...]]:
    for line in lines:
        record = json.loads(line)
        issue, sync = record["issue"], record["_sync"]
        yield (
            int(issue["id"]), utc(issue["fields"]["updated"]), issue.get("key"), sync["sync_id"],
            utc(sync["synced_at"]),
            sync["jql"], int(sync.get("attempt", 1)), int(sync.get("page", 1)),
            json.dumps(issue, sort_keys=True, separators=(",", ":")),
        )  # fmt: skip


def _history_rows(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Status changes from landed issue records (their changelog) and full-changelog lines."""
    for line in lines:
        record = json.loads(line)
        if "history" in record:
            yield from status_changes(record["issue_id"], record["history"])
        else:
            issue = record.get("issue") or json.loads(record["record"])
            for history in (issue.get("changelog") or {}).get("histories") or []:
                yield from status_changes(str(issue["id"]), history)


def build_tables(spark: SparkSession, layout: SiteLayout) -> tuple[dict[str, DataFrame], dict[str, Any]]:
    """The four tables as DataFrames, and facts about the input (syncs, deleted ids...)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    syncs = committed_syncs(layout)
    if not syncs:
        raise NoSyncsError(f"No committed sync under {layout.landing}; run the sync task first.")
    newest = syncs[-1]
    field_map = FieldMap.from_catalog(read_json(f"{newest.folder}/fields.json"))
    in_scope = {
        json.loads(line)["id"] for line in read_bytes(f"{newest.folder}/reconciliation.jsonl").splitlines()
    }
    issue_files = [uri for s in syncs for uri in s.files("issues-")]
    changelog_files = [uri for s in syncs for uri in s.files("changelogs")]

    lines = (
        spark.read.text(issue_files).rdd.map(lambda row: row.value)
        if issue_files
        else spark.sparkContext.emptyRDD()
    )
    raw_all = spark.createDataFrame(lines.mapPartitions(_raw_rows), _schema(RAW_COLUMNS))
    first_seen = Window.partitionBy("issue_id", "updated").orderBy(
        "synced_at", "sync_id", "sync_attempt", "sync_page"
    )
    raw = raw_all.withColumn("_n", F.row_number().over(first_seen)).where("_n = 1").drop("_n")

    newest_version = Window.partitionBy("issue_id").orderBy(
        F.col("updated").desc(), F.col("synced_at").desc()
    )
    latest = raw.withColumn("_n", F.row_number().over(newest_version)).where("_n = 1").drop("_n")
    scope_ids = spark.createDataFrame([(int(i),) for i in in_scope], "issue_id bigint")
    current = latest.join(scope_ids, "issue_id", "left_semi")
    deleted_ids = latest.select("issue_id").join(scope_ids, "issue_id", "left_anti")

    columns = field_map.columns
    broadcast_map = spark.sparkContext.broadcast(field_map)

    def flatten(rows: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
        fmap = broadcast_map.value
        for row in rows:
            issue = json.loads(row.record)
            try:
                flat = flatten_issue(issue, fmap)
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(
                    f"Issue {issue.get('id')} ({issue.get('key')}, updated {row.updated}, sync {row.sync_id}) "
                    f"cannot be flattened: {type(err).__name__}: {err}. Its record is in issues_raw / the "
                    "landing; fix spark_jobs/jira/flatten.py for this shape of field."
                ) from err
            yield tuple(flat[name] for name, _ in fmap.columns)

    issues = spark.createDataFrame(
        current.select("record", "updated", "sync_id").rdd.mapPartitions(flatten), _schema(columns)
    )
    deletions = deleted_ids.select(
        *(
            F.col("issue_id") if name == "issue_id" else F.lit(None).cast(kind).alias(name)
            for name, kind in columns
        )
    )
    changes = issues.withColumn("_op", F.lit("U")).unionByName(deletions.withColumn("_op", F.lit("D")))

    history_lines = raw.select("record").rdd.map(lambda row: json.dumps({"record": row.record}))
    if changelog_files:
        history_lines = history_lines.union(spark.read.text(changelog_files).rdd.map(lambda row: row.value))
    history_columns = [name for name, _ in STATUS_HISTORY_COLUMNS]
    history_all = spark.createDataFrame(
        history_lines.mapPartitions(_history_rows).map(lambda d: tuple(d[c] for c in history_columns)),
        _schema(STATUS_HISTORY_COLUMNS),
    )
    status_history = history_all.dropDuplicates(["issue_id", "history_id", "item_index"]).join(
        scope_ids, "issue_id", "left_semi"
    )
    facts = {
        "syncs": len(syncs),
        "newest_sync": newest.sync_id,
        "custom_columns": dict(field_map.custom_columns),
        "in_scope": len(in_scope),
        "input_uris": issue_files + changelog_files,
        "field_map": field_map,
    }
    tables = {
        "issues_raw": raw,
        "issues": issues,
        "issues_changes": changes,
        "status_history": status_history,
    }
    return tables, facts
