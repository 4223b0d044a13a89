"""Set-based SQL that moves the staged rows into the target (valid on Redshift and PostgreSQL).

Every statement works on whole sets; values from the caller travel as bind parameters (``%s``),
every name (table, column) is quoted by the dialect's rules (:func:`~data_platform.warehouse.tables.quote`),
so reserved words (``group``, ``user``) and any column a source can have work. The target is
written as ``schema.table`` without alias (what Redshift accepts in ``UPDATE ... FROM`` /
``DELETE ... USING``), staged values are cast to the target column types.

Change order (``order_by``), the same rule as the lake merge (:mod:`spark_jobs.cdc.net_change`):
values compare by the target column's type (text byte-wise), most significant column first,
and a NULL ordering value is older than every non-NULL value. The target row's own ordering
values take part: a staged change older than the row neither updates nor deletes it (a late
change), a change not older than the row applies (so a rerun re-applies the same values).

Tombstones (a merge with deletes and ``order_by``): a delete leaves the key's ordering values in
``<table>__tombstones`` (:func:`tombstone_table`), so a staged upsert older than the delete
(a late update, a reloaded older change set) does not re-insert the key, while a newer
re-insert applies and removes the tombstone: the lake's rule (:mod:`spark_jobs.cdc.tombstones`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from data_platform.warehouse.tables import TableName, quote

Statement = tuple[str, tuple[Any, ...]]
_TEXT_TYPES = ("character varying", "text", "character", "varchar", "char")


class _Names:
    """Quoted SQL names of one dialect: ``n("group")`` -> ``"group"``, ``n.col("s", "group")`` -> ``s."group"``."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def __call__(self, name: str) -> str:
        return quote(name, self.dialect)

    def col(self, alias: str, column: str) -> str:
        return f"{alias}.{self(column)}"

    def cast(self, alias: str, column: str, types: dict[str, str]) -> str:
        return f"CAST({self.col(alias, column)} AS {types[column]})"

    def key_join(self, left: str, right: str, key: Sequence[str]) -> str:
        return " AND ".join(f"{self.col(left, k)} = {self.col(right, k)}" for k in key)

    def listing(self, columns: Sequence[str]) -> str:
        return ", ".join(self(c) for c in columns)


def _ordering_value(expression: str, sql_type: str, dialect: str) -> str:
    """``expression`` as it compares in the change order: text byte-wise on PostgreSQL too."""
    if dialect == "postgres" and sql_type.lower().startswith(_TEXT_TYPES):
        return f'{expression} COLLATE "C"'
    return expression


def older_than_target_sql(
    source: str, target: str, order_by: Sequence[str], types: dict[str, str], dialect: str
) -> str:
    """Predicate: the staged change ``source`` is older than the target row ``target``.

    Lexicographic over ``order_by`` (staged values cast to the target types), NULL oldest.
    """
    n = _Names(dialect)
    clauses = []
    for index, column in enumerate(order_by):
        staged = _ordering_value(n.cast(source, column, types), types[column], dialect)
        current = _ordering_value(n.col(target, column), types[column], dialect)
        same_before = [
            f"({n.cast(source, c, types)} = {n.col(target, c)} "
            f"OR ({n.col(source, c)} IS NULL AND {n.col(target, c)} IS NULL))"
            for c in order_by[:index]
        ]
        older = (
            f"(({n.col(source, column)} IS NULL AND {n.col(target, column)} IS NOT NULL) "
            f"OR {staged} < {current})"
        )
        clauses.append(" AND ".join([*same_before, older]))
    return "COALESCE(" + " OR ".join(f"({c})" for c in clauses) + ", FALSE)" if clauses else "FALSE"


def utc_session_sql(dialect: str) -> str:
    """Make the load's casts independent of the session / server ``TimeZone``.

    Lake timestamps without a zone are UTC wall-clock values; casting a ``TIMESTAMPTZ`` to
    ``TIMESTAMP`` (or back) converts through the session time zone, so the load runs in UTC:
    ``SET LOCAL`` (this transaction only) on PostgreSQL, ``SET timezone`` (this session) on Redshift.
    """
    if dialect == "redshift":
        return "SET timezone TO 'UTC'"
    return "SET LOCAL TIME ZONE 'UTC'"


# Memory for the load's sorts and hashes (PostgreSQL's default 4 MB spills a 1M-row merge to disk).
POSTGRES_LOAD_WORK_MEM = "256MB"


def session_sql(dialect: str) -> list[str]:
    """The load's session settings: UTC (:func:`utc_session_sql`), and on PostgreSQL
    ``work_mem`` for this transaction only (``SET LOCAL``)."""
    if dialect == "redshift":
        return [utc_session_sql(dialect)]
    return [utc_session_sql(dialect), f"SET LOCAL work_mem = '{POSTGRES_LOAD_WORK_MEM}'"]


# Key of the PostgreSQL advisory lock that serialises the loads' DDL (any bigint; the project's own).
DDL_LOCK_KEY = 0x64705F64646C  # "dp_ddl"


def ddl_lock_sql(dialect: str) -> str | None:
    """Serialise the loads' idempotent DDL (``CREATE SCHEMA / TABLE IF NOT EXISTS``, ``CREATE OR
    REPLACE PROCEDURE``) across sessions, until the DDL's transaction ends. Without it two loads
    creating the same schema or table at once both pass ``IF NOT EXISTS`` and the second fails on
    the catalog's unique index (PostgreSQL: ``duplicate key value violates unique constraint
    "pg_namespace_nspname_index"``), and ``CREATE OR REPLACE`` fails with ``tuple concurrently
    updated``. Redshift has no advisory locks: None."""
    if dialect == "redshift":
        return None
    return f"SELECT pg_advisory_xact_lock({DDL_LOCK_KEY})"


def lock_sql(table: TableName, dialect: str) -> str:
    """Serialise loads into one table (``LOCK`` has no mode clause on Redshift)."""
    if dialect == "redshift":
        return f"LOCK {table.sql(dialect)}"
    return f"LOCK TABLE {table.sql(dialect)} IN SHARE ROW EXCLUSIVE MODE"


def staged_rows_sql(stage: str, key: Sequence[str], dialect: str) -> str:
    """One scan of the stage: ``(rows, repeated)``, ``repeated`` the rows beyond the first of
    each ``key`` value (0 when ``key`` is empty: no uniqueness asked). A key with a NULL column
    repeats nothing (as ``COUNT`` ignores NULL): it never matches a target row by ``=``.

    A one-column key counts ``COUNT(key) - COUNT(DISTINCT key)``: PostgreSQL sorts for a
    distinct count, about twice as fast as the hash aggregate of a ``GROUP BY`` on a 1M-row
    stage (benchmarks/warehouse_load.py); a compound key groups by its columns (Redshift has
    no multi-column ``COUNT(DISTINCT)``).
    """
    n = _Names(dialect)
    if not key:
        repeated = "0"
    elif len(key) == 1:
        repeated = f"COUNT({n(key[0])}) - COUNT(DISTINCT {n(key[0])})"
    else:
        keys = n.listing(key)
        repeated = (
            f"(SELECT COALESCE(SUM(d.dp_rows - 1), 0) FROM (SELECT COUNT(*) AS dp_rows FROM {n(stage)} "
            f"WHERE {' AND '.join(f'{n(k)} IS NOT NULL' for k in key)} "
            f"GROUP BY {keys} HAVING COUNT(*) > 1) AS d)"
        )
    return f"SELECT COUNT(*), {repeated} FROM {n(stage)}"


def latest_per_key_sql(
    stage: str,
    net: str,
    columns: Sequence[str],
    key: Sequence[str],
    order_by: Sequence[str],
    types: dict[str, str],
    dialect: str,
) -> str:
    """Keep one row per key: the last one by ``order_by`` (e.g. the CDC sequence / commit time),
    compared as the target types (``types``) with NULL oldest."""
    n = _Names(dialect)
    cols = n.listing(columns)
    order = ", ".join(
        f"{_ordering_value(f'CAST({n(c)} AS {types[c]})', types[c], dialect)} DESC NULLS LAST"
        for c in order_by
    )
    return (
        f"CREATE TEMP TABLE {n(net)} AS SELECT {cols} FROM ("
        f"SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {n.listing(key)} ORDER BY {order}) AS dp_rn "
        f"FROM {n(stage)}) AS ranked WHERE dp_rn = 1"
    )


def is_deleted(alias: str, delete_column: str | None, dialect: str) -> str:
    """Predicate of a staged delete (``op = 'D'``, ``_is_deleted = true``...); one ``%s`` parameter."""
    if delete_column is None:
        return "FALSE"
    return f"COALESCE({_Names(dialect).col(alias, delete_column)} = %s, FALSE)"


def tombstone_table(target: TableName) -> TableName:
    """Where a merge target's deleted keys keep their ordering values: ``<table>__tombstones``."""
    return TableName(target.schema, f"{target.name}__tombstones")


def create_tombstones_sql(
    target: TableName, key: Sequence[str], order_by: Sequence[str], types: dict[str, str], dialect: str
) -> str:
    """The tombstone table of ``target``: its key and ``order_by`` columns, with the target's types."""
    n = _Names(dialect)
    columns = ", ".join(f"{n(c)} {types[c]}" for c in [*key, *order_by])
    return f"CREATE TABLE IF NOT EXISTS {tombstone_table(target).sql(dialect)} ({columns})"


def drop_tombstones_sql(target: TableName, dialect: str) -> str:
    """Forget every tombstone (a snapshot load replaces the table, deletes included)."""
    return f"DROP TABLE IF EXISTS {tombstone_table(target).sql(dialect)}"


def merge_statements(
    target: TableName,
    source: str,
    key: Sequence[str],
    columns: Sequence[str],
    types: dict[str, str],
    delete_column: str | None,
    delete_value: Any,
    order_by: Sequence[str] = (),
    dialect: str = "postgres",
    tombstones: bool = False,
) -> dict[str, Statement]:
    """``delete`` / ``update`` / ``insert`` (then, with ``tombstones``, ``forget`` / ``remember``)
    statements of a merge by ``key``, run in that order.

    ``columns`` are the target columns present in the source (the key included); ``order_by``
    columns (in the target) keep a change older than the target row from touching it. With
    ``tombstones`` (needs ``delete_column`` and ``order_by``; the table of
    :func:`create_tombstones_sql` exists) an upsert older than the key's tombstone is not
    inserted, ``forget`` drops the tombstones that a staged change is not older than, and
    ``remember`` stores the staged deletes of keys the target no longer holds.
    """
    n = _Names(dialect)
    table, stage = target.sql(dialect), n(source)
    delete_params: tuple[Any, ...] = () if delete_column is None else (delete_value,)
    deleted = is_deleted("s", delete_column, dialect)
    current = (
        "" if not order_by else f" AND NOT {older_than_target_sql('s', table, order_by, types, dialect)}"
    )
    statements: dict[str, Statement] = {}
    if delete_column is not None:
        statements["delete"] = (
            f"DELETE FROM {table} USING {stage} AS s WHERE {n.key_join(table, 's', key)} AND {deleted}"
            + current,
            delete_params,
        )
    updatable = [c for c in columns if c not in key]
    if updatable:
        assignments = ", ".join(f"{n(c)} = {n.cast('s', c, types)}" for c in updatable)
        statements["update"] = (
            f"UPDATE {table} SET {assignments} FROM {stage} AS s "
            f"WHERE {n.key_join(table, 's', key)} AND NOT {deleted}" + current,
            delete_params,
        )
    buried = ""
    if tombstones:
        if delete_column is None or not order_by:
            raise ValueError("Tombstones need a delete_column and order_by.")
        graves = tombstone_table(target).sql(dialect)
        buried = (
            f" AND NOT EXISTS (SELECT 1 FROM {graves} AS d WHERE {n.key_join('d', 's', key)} "
            f"AND {older_than_target_sql('s', 'd', order_by, types, dialect)})"
        )
    statements["insert"] = (
        f"INSERT INTO {table} ({n.listing(columns)}) "
        f"SELECT {', '.join(n.cast('s', c, types) for c in columns)} FROM {stage} AS s "
        f"LEFT JOIN {table} AS t ON {n.key_join('t', 's', key)} "
        f"WHERE {n.col('t', key[0])} IS NULL AND NOT {deleted}" + buried,
        delete_params,
    )
    if tombstones:
        kept = [*key, *order_by]
        statements["forget"] = (
            f"DELETE FROM {graves} USING {stage} AS s WHERE {n.key_join(graves, 's', key)} "
            f"AND NOT {older_than_target_sql('s', graves, order_by, types, dialect)}",
            (),
        )
        statements["remember"] = (
            f"INSERT INTO {graves} ({n.listing(kept)}) "
            f"SELECT {', '.join(n.cast('s', c, types) for c in kept)} FROM {stage} AS s "
            f"LEFT JOIN {graves} AS d ON {n.key_join('d', 's', key)} "
            f"WHERE {n.col('d', key[0])} IS NULL AND {deleted} "
            f"AND NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {n.key_join('t', 's', key)})",
            delete_params,
        )
    return statements


def append_statement(
    target: TableName, source: str, columns: Sequence[str], types: dict[str, str], dialect: str
) -> Statement:
    n = _Names(dialect)
    return (
        f"INSERT INTO {target.sql(dialect)} ({n.listing(columns)}) "
        f"SELECT {', '.join(n.cast('s', c, types) for c in columns)} FROM {n(source)} AS s",
        (),
    )


def foreign_partition_rows_statement(
    source: str, column: str, value: Any, types: dict[str, str], dialect: str
) -> Statement:
    """Count staged rows outside the partition being replaced (they would break idempotence)."""
    n = _Names(dialect)
    return (
        f"SELECT COUNT(*) FROM {n(source)} AS s WHERE {n.cast('s', column, types)} <> "
        f"CAST(%s AS {types[column]}) OR {n.col('s', column)} IS NULL",
        (value,),
    )


def delete_all_statement(target: TableName, dialect: str) -> Statement:
    """Empty the target inside the load's transaction (TRUNCATE would commit on Redshift)."""
    return (f"DELETE FROM {target.sql(dialect)}", ())


def delete_partition_statement(
    target: TableName, column: str, value: Any, types: dict[str, str], dialect: str
) -> Statement:
    return (
        f"DELETE FROM {target.sql(dialect)} WHERE {quote(column, dialect)} = CAST(%s AS {types[column]})",
        (value,),
    )


def call_statement(procedure: TableName, args: Sequence[Any], dialect: str) -> Statement:
    return (f"CALL {procedure.sql(dialect)}({', '.join(['%s'] * len(args))})", tuple(args))
