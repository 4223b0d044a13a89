"""Warehouse object names and where their SQL and rules live under ``include/warehouse/``.

Layout (one file per object, named after it; every include folder is searched, so the demo's
and the tests' objects live in their own folders, see ``data_platform.paths``)::

    include/warehouse/tables/<schema>.<table>.sql          DDL, Redshift dialect, idempotent
    include/warehouse/procedures/<schema>.<procedure>.sql  CREATE OR REPLACE PROCEDURE
    include/warehouse/quality/<schema>.<table>.yaml         data-quality rules

Table and schema names are plain lower-case identifiers (they name files). Column names come
from the sources and may be anything but empty or control characters; they are lower-cased
(Redshift folds names to lower case) and every name goes into SQL quoted by :func:`quote`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from data_platform.paths import include_file, include_files

WAREHOUSE_DIR = "warehouse"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def identifier(name: str, what: str = "column") -> str:
    """``name`` lower-cased: any column name of at most 127 bytes without control characters;
    schema and table names must be plain identifiers (letters, digits, ``_``)."""
    lowered = str(name).lower()
    if what == "column":
        if not lowered or len(lowered.encode()) > 127 or any(ord(ch) < 32 for ch in lowered):
            raise ValueError(
                f"column name {name!r} is empty, longer than 127 bytes or holds control "
                "characters; rename it in the source or the config."
            )
        return lowered
    if not _IDENTIFIER.match(lowered) or len(lowered) > 127:
        raise ValueError(
            f"{what} name {name!r} is not a plain identifier (letters, digits, '_', not starting "
            "with a digit, at most 127 characters); rename it in the source or the config."
        )
    return lowered


def quote(name: str, dialect: str) -> str:
    """``name`` as a quoted identifier of ``dialect`` (``postgres`` / ``redshift``), by sqlglot's
    rules for that dialect: ``group`` -> ``"group"``, ``a"b`` -> ``"a""b"``."""
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


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

    def sql(self, dialect: str) -> str:
        """The quoted name for SQL text: ``"schema"."table"``."""
        return f"{quote(self.schema, dialect)}.{quote(self.name, dialect)}"

    @property
    def stage(self) -> str:
        """The session-temporary staging table (procedures read the staged rows from it)."""
        return f"stage_{self.name}"


def table_ddl_file(table: TableName | str, folders: Sequence[Path] | None = None) -> Path:
    """``include/warehouse/tables/<schema>.<table>.sql`` (``folders``: see :func:`include_file`)."""
    return include_file(f"{WAREHOUSE_DIR}/tables/{table}.sql", folders)


def procedure_file(procedure: TableName) -> Path:
    return include_file(f"{WAREHOUSE_DIR}/procedures/{procedure}.sql")


def rules_file(name: str, folders: Sequence[Path] | None = None) -> Path:
    """``include/warehouse/quality/<name>.yaml`` (``folders``: see :func:`include_file`)."""
    return include_file(f"{WAREHOUSE_DIR}/quality/{name}.yaml", folders)


def all_sql_files() -> list[Path]:
    """Every SQL file of the warehouse layout: tables first, then procedures (creation order)."""
    tables = include_files(f"{WAREHOUSE_DIR}/tables", "*.sql")
    procedures = include_files(f"{WAREHOUSE_DIR}/procedures", "*.sql")
    return [*tables.values(), *procedures.values()]
