"""Warehouse object names and where their SQL and rules live under ``include/warehouse/``.

Layout (one file per object, named after it; every include folder is searched, so the demo's
and the tests' objects live in their own folders, see ``data_platform.paths``)::

    include/warehouse/tables/<schema>.<table>.sql          DDL, Redshift dialect, idempotent
    include/warehouse/procedures/<schema>.<procedure>.sql  CREATE OR REPLACE PROCEDURE
    include/warehouse/quality/<schema>.<table>.yaml         data-quality rules

Names are plain lower-case identifiers (Redshift folds unquoted names to lower case), which also
makes it safe to put them into SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from data_platform.paths import include_file, include_files

WAREHOUSE_DIR = "warehouse"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def identifier(name: str, what: str = "column") -> str:
    """``name`` lower-cased, if it is a plain SQL identifier (error otherwise)."""
    lowered = str(name).lower()
    if not _IDENTIFIER.match(lowered) or len(lowered) > 127:
        raise ValueError(
            f"{what} name {name!r} is not a plain identifier (letters, digits, '_', not starting "
            "with a digit, at most 127 characters); rename it in the source or the config."
        )
    return lowered


@dataclass(frozen=True)
class TableName:
    schema: str
    name: str

    @classmethod
    def parse(cls, text: str) -> TableName:
        schema, dot, name = str(text).partition(".")
        if not dot:
            raise ValueError(f"Table {text!r} must be written as 'schema.table'.")
        return cls(identifier(schema, "schema"), identifier(name, "table"))

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def stage(self) -> str:
        """The session-temporary staging table (procedures read the staged rows from it)."""
        return f"stage_{self.name}"


def table_ddl_file(table: TableName) -> Path:
    return include_file(f"{WAREHOUSE_DIR}/tables/{table}.sql")


def procedure_file(procedure: TableName) -> Path:
    return include_file(f"{WAREHOUSE_DIR}/procedures/{procedure}.sql")


def rules_file(name: str) -> Path:
    return include_file(f"{WAREHOUSE_DIR}/quality/{name}.yaml")


def all_sql_files() -> list[Path]:
    """Every SQL file of the warehouse layout: tables first, then procedures (creation order)."""
    tables = include_files(f"{WAREHOUSE_DIR}/tables", "*.sql")
    procedures = include_files(f"{WAREHOUSE_DIR}/procedures", "*.sql")
    return [*tables.values(), *procedures.values()]
