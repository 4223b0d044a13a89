"""The warehouse connection of the current target, its SQL dialect and its lineage names.

Locally the ``warehouse`` connection is a PostgreSQL one (``PostgresHook``); on aws
``redshift_default`` is a Redshift one (``RedshiftSQLHook``). Which hook serves a connection is
Airflow's business (``Connection.get_hook()``), the dialect follows the target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from data_platform.warehouse.tables import TableName

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    from data_platform.settings import PlatformSettings

COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def warehouse_dialect(settings: PlatformSettings) -> str:
    return "postgres" if settings.is_local else "redshift"


def warehouse_hook(conn_id: str) -> DbApiHook:
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import BaseHook

    hook = BaseHook.get_connection(conn_id).get_hook()
    if not isinstance(hook, DbApiHook):
        raise TypeError(
            f"Connection {conn_id!r} gives a {type(hook).__name__}, not a SQL hook; point it at "
            "PostgreSQL (local) or Redshift (aws)."
        )
    return hook


def table_columns(cursor: Any, table: TableName) -> list[tuple[str, str]]:
    """``[(column, type)]`` of ``table`` in order (the catalog query works on both engines)."""
    cursor.execute(COLUMNS_SQL, (table.schema, table.name))
    columns = [(str(name), str(sql_type)) for name, sql_type in cursor.fetchall()]
    if not columns:
        raise LookupError(
            f"Table {table} does not exist in the warehouse; add its DDL as "
            f"include/warehouse/tables/{table}.sql (created on first load) or create it."
        )
    return columns


def table_dataset_identity(hook: DbApiHook, table: TableName) -> tuple[str, str]:
    """OpenLineage ``(namespace, name)`` of ``table``: ``postgres://host:port`` or
    ``redshift://cluster.region:port`` and ``database.schema.table`` (the hook supplies the naming)."""
    connection = hook.get_connection(getattr(hook, hook.conn_name_attr))
    info = hook.get_openlineage_database_info(connection)
    if info is None:
        raise LookupError(f"{type(hook).__name__} gives no OpenLineage naming for its connection.")
    return f"{info.scheme}://{info.authority}", f"{info.database}.{table}"
