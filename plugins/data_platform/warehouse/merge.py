"""Set-based SQL that moves the staged rows into the target (valid on Redshift and PostgreSQL).

Every statement works on whole sets; values from the caller travel as bind parameters (``%s``),
names are validated identifiers. The target is written as ``schema.table`` without alias (what
Redshift accepts in ``UPDATE ... FROM`` / ``DELETE ... USING``), staged values are cast to the
target column types.

Change order (``order_by``), the same rule as the lake merge (:mod:`spark_jobs.cdc.net_change`):
values compare by the target column's type (text byte-wise), most significant column first,
and a NULL ordering value is older than every non-NULL value. The target row's own ordering
values take part: a staged change older than the row neither updates nor deletes it (a late
change), a change not older than the row applies (so a rerun re-applies the same values).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from data_platform.warehouse.tables import TableName

Statement = tuple[str, tuple[Any, ...]]


def _key_join(left: str, right: str, key: Sequence[str]) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in key)


def _cast(alias: str, column: str, types: dict[str, str]) -> str:
    return f"CAST({alias}.{column} AS {types[column]})"


_TEXT_TYPES = ("character varying", "text", "character", "varchar", "char")


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
    clauses = []
    for index, column in enumerate(order_by):
        staged = _ordering_value(_cast(source, column, types), types[column], dialect)
        current = _ordering_value(f"{target}.{column}", types[column], dialect)
        same_before = [
            f"({_cast(source, c, types)} = {target}.{c} OR ({source}.{c} IS NULL AND {target}.{c} IS NULL))"
            for c in order_by[:index]
        ]
        older = f"(({source}.{column} IS NULL AND {target}.{column} IS NOT NULL) OR {staged} < {current})"
        clauses.append(" AND ".join([*same_before, older]))
    return "COALESCE(" + " OR ".join(f"({c})" for c in clauses) + ", FALSE)" if clauses else "FALSE"


def lock_sql(table: TableName, dialect: str) -> str:
    """Serialise loads into one table (``LOCK`` has no mode clause on Redshift)."""
    if dialect == "redshift":
        return f"LOCK {table}"
    return f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"


def duplicate_keys_sql(stage: str, key: Sequence[str]) -> str:
    keys = ", ".join(key)
    return f"SELECT COUNT(*) FROM (SELECT {keys} FROM {stage} GROUP BY {keys} HAVING COUNT(*) > 1) AS d"


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
    cols = ", ".join(columns)
    order = ", ".join(
        f"{_ordering_value(f'CAST({c} AS {types[c]})', types[c], dialect)} DESC NULLS LAST" for c in order_by
    )
    return (
        f"CREATE TEMP TABLE {net} AS SELECT {cols} FROM ("
        f"SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {', '.join(key)} ORDER BY {order}) AS dp_rn "
        f"FROM {stage}) AS ranked WHERE dp_rn = 1"
    )


def is_deleted(alias: str, delete_column: str | None) -> str:
    """Predicate of a staged delete (``op = 'D'``, ``_is_deleted = true``...); one ``%s`` parameter."""
    if delete_column is None:
        return "FALSE"
    return f"COALESCE({alias}.{delete_column} = %s, FALSE)"


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
) -> dict[str, Statement]:
    """``delete`` / ``update`` / ``insert`` statements of a merge by ``key`` (run in that order).

    ``columns`` are the target columns present in the source (the key included); ``order_by``
    columns (in the target) keep a change older than the target row from touching it.
    """
    delete_params: tuple[Any, ...] = () if delete_column is None else (delete_value,)
    deleted = is_deleted("s", delete_column)
    current = (
        ""
        if not order_by
        else f" AND NOT {older_than_target_sql('s', str(target), order_by, types, dialect)}"
    )
    statements: dict[str, Statement] = {}
    if delete_column is not None:
        statements["delete"] = (
            f"DELETE FROM {target} USING {source} AS s WHERE {_key_join(str(target), 's', key)} AND {deleted}"
            + current,
            delete_params,
        )
    updatable = [c for c in columns if c not in key]
    if updatable:
        assignments = ", ".join(f"{c} = {_cast('s', c, types)}" for c in updatable)
        statements["update"] = (
            f"UPDATE {target} SET {assignments} FROM {source} AS s "
            f"WHERE {_key_join(str(target), 's', key)} AND NOT {deleted}" + current,
            delete_params,
        )
    statements["insert"] = (
        f"INSERT INTO {target} ({', '.join(columns)}) "
        f"SELECT {', '.join(_cast('s', c, types) for c in columns)} FROM {source} AS s "
        f"LEFT JOIN {target} AS t ON {_key_join('t', 's', key)} "
        f"WHERE t.{key[0]} IS NULL AND NOT {deleted}",
        delete_params,
    )
    return statements


def append_statement(
    target: TableName, source: str, columns: Sequence[str], types: dict[str, str]
) -> Statement:
    return (
        f"INSERT INTO {target} ({', '.join(columns)}) "
        f"SELECT {', '.join(_cast('s', c, types) for c in columns)} FROM {source} AS s",
        (),
    )


def foreign_partition_rows_statement(
    source: str, column: str, value: Any, types: dict[str, str]
) -> Statement:
    """Count staged rows outside the partition being replaced (they would break idempotence)."""
    return (
        f"SELECT COUNT(*) FROM {source} AS s WHERE {_cast('s', column, types)} <> CAST(%s AS {types[column]}) "
        f"OR s.{column} IS NULL",
        (value,),
    )


def delete_all_statement(target: TableName) -> Statement:
    """Empty the target inside the load's transaction (TRUNCATE would commit on Redshift)."""
    return (f"DELETE FROM {target}", ())


def delete_partition_statement(
    target: TableName, column: str, value: Any, types: dict[str, str]
) -> Statement:
    return (f"DELETE FROM {target} WHERE {column} = CAST(%s AS {types[column]})", (value,))


def call_statement(procedure: TableName, args: Sequence[Any]) -> Statement:
    return (f"CALL {procedure}({', '.join(['%s'] * len(args))})", tuple(args))
