"""Column lineage of the warehouse SQL (Redshift dialect), with ``sqlglot.lineage``.

Covers what writes warehouse tables: ``INSERT INTO t (cols) SELECT ...`` and
``UPDATE t SET c = ... FROM ...`` statements, in the bodies of the stored procedures of
``include/warehouse/procedures/`` and in the merges the loader runs
(``data_platform.warehouse.merge``). A target column gets a ``DIRECT`` edge from each source
column its expression reads (subtype ``IDENTITY`` for a plain or cast column, ``AGGREGATION``
under an aggregate, ``TRANSFORMATION`` otherwise) and ``INDIRECT`` edges (``FILTER``,
``GROUP_BY``, ``JOIN``) from the columns of the statement's WHERE, GROUP BY and JOIN conditions,
as the OpenLineage column lineage facet defines them. Source tables without DDL (the load's
staging table ``stage_<table>``) get their columns from the statement itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify

from data_platform.lineage.columns import ColumnEdge
from data_platform.paths import include_files

DIALECT = "redshift"
_BODY = re.compile(r"\$\$(.*?)\$\$", re.DOTALL)
_PROCEDURE_ARGS = re.compile(r"PROCEDURE\s+[\w.]+\s*\((.*?)\)\s*(NONATOMIC\s*)?AS", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True, order=True)
class SqlColumnEdge:
    """``source_table.source_column`` -> ``target_table.target_column`` (tables as written)."""

    source_table: str
    source_column: str
    target_table: str
    target_column: str
    transformation: str
    subtype: str


def table_columns(ddl_files: Iterable[Path]) -> dict[str, dict[str, str]]:
    """``{schema.table: {column: type}}`` of the ``CREATE TABLE`` statements of ``ddl_files``."""
    schema: dict[str, dict[str, str]] = {}
    for path in ddl_files:
        for statement in sqlglot.parse(path.read_text(), dialect=DIALECT):
            if isinstance(statement, exp.Create) and statement.kind == "TABLE":
                target = statement.this
                if isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
                    name = ".".join(p.name for p in target.this.parts)
                    schema[name] = {
                        c.name: (c.args["kind"].sql(DIALECT) if c.args.get("kind") else "VARCHAR")
                        for c in target.expressions
                        if isinstance(c, exp.ColumnDef)
                    }
    return schema


def procedure_statements(text: str) -> tuple[list[str], set[str]]:
    """The SQL statements of a procedure's body (``$$ ... $$``) and its argument names (so a
    reference to an argument is not taken for a column)."""
    body = _BODY.search(text)
    if body is None:
        raise ValueError("no $$ ... $$ body in the procedure")
    args: set[str] = set()
    header = _PROCEDURE_ARGS.search(text)
    if header:
        args = {part.split()[0].lower() for part in header.group(1).split(",") if part.strip()}
    inner = re.sub(r"^\s*BEGIN\b|\bEND\s*;?\s*$", "", body.group(1).strip(), flags=re.IGNORECASE)
    return [s.strip() for s in inner.split(";") if s.strip()], args


def _name(table: exp.Table) -> str:
    return ".".join(p.name for p in table.parts)


def _subtype(expression: exp.Expr) -> str:
    inner = expression.this if isinstance(expression, exp.Alias) else expression
    while isinstance(inner, exp.Cast):
        inner = inner.this
    if isinstance(inner, exp.Column):
        return "IDENTITY"
    if inner.find(exp.AggFunc) is not None:
        return "AGGREGATION"
    return "TRANSFORMATION"


def _local_schema(
    select: exp.Select, schema: dict[str, dict[str, str]], arguments: set[str]
) -> dict[str, dict[str, str]]:
    """``schema`` plus, for source tables it does not know, the columns the statement reads from
    them (an unqualified column belongs to the only such table)."""
    tables = {t.alias_or_name: _name(t) for t in select.find_all(exp.Table)}
    unknown = {name for name in tables.values() if name not in schema}
    if not unknown:
        return schema
    local = dict(schema)
    for column in select.find_all(exp.Column):
        name = column.name
        if not column.table and name.lower() in arguments:
            continue
        owner = (
            tables.get(column.table) if column.table else (next(iter(unknown)) if len(unknown) == 1 else None)
        )
        if owner in unknown:
            local.setdefault(owner, {})[name] = "VARCHAR"
    return local


def _source_columns(
    select: exp.Select, column: str, schema: dict[str, dict[str, str]]
) -> list[tuple[str, str]]:
    node = lineage(column, select, schema, dialect=DIALECT)
    found = []
    for leaf in node.walk():
        if not leaf.downstream and isinstance(leaf.expression, exp.Table):
            # the node name is the column as written: the loader quotes every identifier
            found.append((_name(leaf.expression), leaf.name.rsplit(".", 1)[-1].strip('"')))
    return found


def _indirect_columns(select: exp.Select, schema: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    qualified = qualify(
        select.copy(), schema=dict[str, object](schema), dialect=DIALECT, validate_qualify_columns=False
    )
    tables = {t.alias_or_name: _name(t) for t in qualified.find_all(exp.Table)}
    found = []
    parts = [("FILTER", qualified.args.get("where")), ("GROUP_BY", qualified.args.get("group"))]
    parts += [("JOIN", join.args.get("on")) for join in qualified.args.get("joins") or []]
    for subtype, part in parts:
        for column in part.find_all(exp.Column) if part is not None else ():
            if column.table in tables:
                found.append((tables[column.table], column.name, subtype))
    return sorted(set(found))


def _insert_edges(
    statement: exp.Insert, schema: dict[str, dict[str, str]], arguments: set[str]
) -> list[SqlColumnEdge]:
    target = statement.this
    select = statement.expression
    if not isinstance(target, exp.Schema) or not isinstance(select, exp.Select):
        return []
    table = _name(target.this)
    targets = [c.name for c in target.expressions]
    if len(targets) != len(select.expressions):
        raise ValueError(f"INSERT INTO {table}: {len(targets)} columns but {len(select.expressions)} values")
    aliased = select.copy()
    aliased.set(
        "expressions",
        [
            exp.alias_(e.this if isinstance(e, exp.Alias) else e, c)
            for e, c in zip(select.expressions, targets, strict=True)
        ],
    )
    local = _local_schema(aliased, schema, arguments)
    edges = []
    indirect = _indirect_columns(aliased, local)
    for column, expression in zip(targets, select.expressions, strict=True):
        subtype = _subtype(expression)
        for source_table, source_column in _source_columns(aliased, column, local):
            edges.append(SqlColumnEdge(source_table, source_column, table, column, "DIRECT", subtype))
        edges += [SqlColumnEdge(t, c, table, column, "INDIRECT", s) for t, c, s in indirect]
    return edges


def _update_edges(
    statement: exp.Update, schema: dict[str, dict[str, str]], arguments: set[str]
) -> list[SqlColumnEdge]:
    """``UPDATE t SET c = expr FROM s ...`` as ``SELECT expr AS c FROM s``: the DIRECT edges
    (the WHERE of such an update joins the target by key, it is not a filter of the source)."""
    table = _name(statement.this)
    source = statement.args.get("from_") or statement.args.get("from")
    if source is None:
        return []
    select = exp.select(*[exp.alias_(a.expression, a.this.name) for a in statement.expressions]).from_(
        source.this.copy()
    )
    insert = exp.Insert(
        expression=select,
        this=exp.Schema(
            this=exp.to_table(table),
            expressions=[exp.to_identifier(a.this.name) for a in statement.expressions],
        ),
    )
    return [e for e in _insert_edges(insert, schema, arguments) if e.transformation == "DIRECT"]


def statement_edges(
    sql: str, schema: dict[str, dict[str, str]], arguments: Sequence[str] = ()
) -> list[SqlColumnEdge]:
    """Column edges of the writing statements of ``sql`` (one or more statements); other
    statements (DELETE, CREATE, CALL...) write no column and give no edge. Edges from the
    target table to itself (the anti-join of a merge) are left out: they are no lineage."""
    edges: list[SqlColumnEdge] = []
    args = {a.lower() for a in arguments}
    for statement in sqlglot.parse(sql, dialect=DIALECT):
        if isinstance(statement, exp.Insert):
            edges += _insert_edges(statement, schema, args)
        elif isinstance(statement, exp.Update):
            edges += _update_edges(statement, schema, args)
    return sorted({e for e in edges if e.source_table != e.target_table})


def procedure_edges(path: Path, schema: dict[str, dict[str, str]]) -> list[SqlColumnEdge]:
    """Column edges of one stored procedure file; a ValueError names the file."""
    try:
        statements, arguments = procedure_statements(path.read_text())
        return sorted({e for s in statements for e in statement_edges(s, schema, sorted(arguments))})
    except (ValueError, sqlglot.errors.SqlglotError) as err:
        raise ValueError(f"{path}: no column lineage: {err}") from err


def warehouse_sql_edges(namespace: str, database: str) -> list[ColumnEdge]:
    """Column edges of every stored procedure of the include path, as lineage table rows of
    the warehouse ``namespace`` (``postgres://host:port`` / ``redshift://cluster.region:port``),
    tables named ``database.schema.table``; the job is ``warehouse.procedure.<schema.name>``."""
    schema = table_columns(include_files("warehouse/tables", "*.sql").values())
    rows = []
    for name, path in include_files("warehouse/procedures", "*.sql").items():
        job = f"warehouse.procedure.{name.removesuffix('.sql')}"
        for e in procedure_edges(path, schema):
            rows.append(
                ColumnEdge(
                    source_namespace=namespace,
                    source_name=f"{database}.{e.source_table}",
                    source_field=e.source_column,
                    target_namespace=namespace,
                    target_name=f"{database}.{e.target_table}",
                    target_field=e.target_column,
                    job_namespace="warehouse",
                    job_name=job,
                    transformation=e.transformation,
                    subtype=e.subtype,
                )
            )
    return rows


def procedure_load_lineage(
    procedure_path: Path, stage: str, target: str, staged_columns: Iterable[str]
) -> dict[str, list[tuple[str, str, str]]]:
    """A procedure load's column lineage: each column of ``target`` (``schema.table``) ->
    ``(staged column, transformation, subtype)`` of what the procedure's SQL reads from the
    staging table ``stage`` (the files' columns, ``staged_columns``). ValueError names the file
    when its SQL cannot be parsed."""
    schema = table_columns(include_files("warehouse/tables", "*.sql").values())
    staged = set(staged_columns)
    mapping: dict[str, list[tuple[str, str, str]]] = {}
    for e in procedure_edges(procedure_path, schema):
        if e.source_table == stage and e.target_table == target and e.source_column in staged:
            mapping.setdefault(e.target_column, []).append((e.source_column, e.transformation, e.subtype))
    return mapping
