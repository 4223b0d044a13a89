"""Every CDC table's warehouse files exist: checked when the table index is compiled.

A CDC table with a ``warehouse_table`` is loaded into the warehouse after its merge: the load
creates the table from ``include/warehouse/tables/<warehouse_table>.sql`` and the checks run the
rules ``include/warehouse/quality/<dq_rule or warehouse_table>.yaml``. A typo in either name
would only surface in the load task, after the lake table was written, so the places that
compile the index on the Airflow side (the MWAA bundle build, which the DAG integrity tests
run, and the local runtime) call :func:`check_warehouse_files` and refuse it first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from data_platform.warehouse.tables import rules_file, table_ddl_file


class WarehouseFilesError(ValueError):
    """A CDC table names a warehouse DDL or quality rules file that no include folder holds."""


def missing_warehouse_files(index: Mapping[str, Any], folders: Sequence[Path] | None = None) -> list[str]:
    """One line per missing file, ``"<table_id>: ... <path> ..."`` naming the fix; files are
    resolved as the load resolves them (:func:`~data_platform.warehouse.tables.table_ddl_file`,
    :func:`~data_platform.warehouse.tables.rules_file`; in ``folders`` when given).

    ``index``: the compiled table index (``spark_jobs.cdc.table_index`` format, ``tables``:
    table id -> config with ``warehouse_table`` and ``dq_rule``).
    """
    problems = []
    for table_id, config in sorted(index["tables"].items()):
        table = config.get("warehouse_table")
        if not table:
            continue
        ddl = table_ddl_file(table, folders)
        if not ddl.is_file():
            problems.append(
                f"{table_id}: warehouse_table {table!r} has no DDL file {ddl}; add it or fix "
                "warehouse_table in the table's config (include/cdc/tables/<source_db>.yaml)"
            )
        rules_name = config.get("dq_rule") or table
        rules = rules_file(rules_name, folders)
        if not rules.is_file():
            field = "dq_rule" if config.get("dq_rule") else "warehouse_table (the default dq_rule)"
            problems.append(
                f"{table_id}: {field} {rules_name!r} has no quality rules file {rules}; add it or "
                "fix dq_rule in the table's config (include/cdc/tables/<source_db>.yaml)"
            )
    return problems


def check_warehouse_files(index: Mapping[str, Any], folders: Sequence[Path] | None = None) -> None:
    """Raise :class:`WarehouseFilesError` listing every missing file (see :func:`missing_warehouse_files`)."""
    problems = missing_warehouse_files(index, folders)
    if problems:
        raise WarehouseFilesError(
            "CDC tables name warehouse files that do not exist:\n  " + "\n  ".join(problems)
        )
