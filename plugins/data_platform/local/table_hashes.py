"""Row hashes of every warehouse table and lake table, to show a rerun changed nothing.

A table's hash is the MD5 of its rows' MD5s in sorted order (order-free, duplicates counted),
with its row count:

- warehouse (PostgreSQL): every base table outside the system schemas, rows as PostgreSQL's
  text form of the row (``md5(t::text)``), computed in the database. ``dp_audit`` (the load log:
  one row per load, by design) is never compared, and the observation columns of
  ``OBSERVATION_COLUMNS`` (the run and time an edge was last seen) are left out of the rows.
- lake (local folder): Hudi tables (``.../hudi/.hoodie``) as their latest snapshot read with
  hudi-rs, without Hudi's ``_hoodie_*`` metadata columns (commit times differ when a rerun
  commits the same rows); every other Parquet dataset grouped by table folder (the path before
  its first ``key=value`` partition folder, else the file's folder), rows as sorted-key JSON.
  Folders starting with ``_`` or ``.`` (state, quarantine, markers, manifests, raw lineage) are
  bookkeeping, not tables.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUDIT_SCHEMAS = ("dp_audit",)
# Columns that record when a row was last observed, not what it says: a rerun is a newer
# observation. lineage.column_edges keeps the newest observation (run, time) of each edge.
OBSERVATION_COLUMNS = {"lineage.column_edges": ("run_id", "event_time")}
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


@dataclass(frozen=True)
class TableHash:
    rows: int
    md5: str


def _rows_hash(row_hashes: list[str]) -> TableHash:
    digest = hashlib.md5("".join(sorted(row_hashes)).encode(), usedforsecurity=False).hexdigest()
    return TableHash(len(row_hashes), digest)


def warehouse_hashes(hook: Any, schemas_excluded: tuple[str, ...] = AUDIT_SCHEMAS) -> dict[str, TableHash]:
    """``{"schema.table": TableHash}`` of every base table of the warehouse behind ``hook`` (a
    DbApiHook on PostgreSQL) but the system and ``schemas_excluded`` schemas. Names are quoted by
    psycopg (``sql.Identifier``)."""
    from psycopg import sql

    excluded = (*SYSTEM_SCHEMAS, *schemas_excluded)
    tables = hook.get_records(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT LIKE 'pg_temp%%' AND table_schema NOT LIKE 'pg_toast%%' "
        "AND NOT (table_schema = ANY(%s)) ORDER BY 1, 2",
        parameters=(list(excluded),),
    )
    hashes = {}
    for schema, table in tables:
        row: sql.Composable = sql.SQL("t::text")
        if f"{schema}.{table}" in OBSERVATION_COLUMNS:
            columns = [c for (c,) in hook.get_records(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                "ORDER BY ordinal_position", parameters=(schema, table))
                if c not in OBSERVATION_COLUMNS[f"{schema}.{table}"]]
            row = sql.SQL("row({})::text").format(sql.SQL(", ").join(sql.Identifier("t", c) for c in columns))
        query = sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
            "FROM (SELECT md5({row}) AS h FROM {table} t) x"
        ).format(row=row, table=sql.Identifier(schema, table))
        count, digest = hook.get_records(query.as_string())[0]
        hashes[f"{schema}.{table}"] = TableHash(int(count), str(digest))
    return hashes


def _row_hashes(table: Any) -> list[str]:
    columns = sorted(c for c in table.column_names if not c.startswith("_hoodie_"))
    return [
        hashlib.md5(json.dumps(row, sort_keys=True, default=str).encode(), usedforsecurity=False).hexdigest()
        for row in table.select(columns).to_pylist()
    ]


def _is_bookkeeping(relative: Path) -> bool:
    return any(part.startswith(("_", ".")) for part in relative.parts[:-1])


def _table_folder(relative: Path) -> Path:
    for depth, part in enumerate(relative.parts[:-1]):
        if "=" in part:
            return Path(*relative.parts[:depth])
    return relative.parent


def lake_hashes(lake_dir: Path) -> dict[str, TableHash]:
    """``{"<table folder relative to the lake>": TableHash}`` of every lake table under ``lake_dir``."""
    import pyarrow.parquet as pq

    from spark_jobs.cdc.outputs import read_hudi

    hashes: dict[str, TableHash] = {}
    # a table's own timeline, not the metadata table Hudi keeps inside it (.hoodie/metadata/.hoodie)
    hudi_roots = sorted(p.parent for p in lake_dir.rglob(".hoodie") if p.is_dir() and ".hoodie" not in p.parent.parts)
    for root in hudi_roots:  # <lake>/cdc/<database>/<table>/hudi (spark_jobs.cdc.layout)
        table = read_hudi(lake_dir.as_uri(), root.parent.parent.name, root.parent.name)
        hashes[str(root.relative_to(lake_dir))] = _rows_hash(_row_hashes(table))
    grouped: dict[Path, list[str]] = {}
    for path in sorted(lake_dir.rglob("*.parquet")):
        relative = path.relative_to(lake_dir)
        if _is_bookkeeping(relative) or any(root in path.parents for root in hudi_roots):
            continue
        grouped.setdefault(_table_folder(relative), []).extend(_row_hashes(pq.read_table(path)))
    hashes.update({str(folder): _rows_hash(rows) for folder, rows in grouped.items()})
    return dict(sorted(hashes.items()))


def differences(before: dict[str, TableHash], after: dict[str, TableHash]) -> dict[str, tuple]:
    """Tables whose hash or row count changed, appeared or disappeared: name -> (before, after)."""
    return {name: (before.get(name), after.get(name)) for name in sorted(before.keys() | after.keys())
            if before.get(name) != after.get(name)}
