"""Redshift SQL -> PostgreSQL, so the SQL in ``include/warehouse/`` is written once.

Plain statements go through sqlglot (``read="redshift", write="postgres"``) after the physical
design clauses PostgreSQL does not have are removed from the syntax tree: ``DISTKEY``,
``SORTKEY`` (compound, interleaved, auto), ``DISTSTYLE``, ``ENCODE``, ``BACKUP``. Redshift-only
types map to PostgreSQL ones (``SUPER`` -> ``JSONB``, ``VARCHAR(MAX)`` -> ``TEXT``).

Stored procedures need care because sqlglot does not model PL/pgSQL (it mangles argument modes):
the header is rewritten by hand (Redshift's ``name IN type`` becomes ``IN name type``,
``NONATOMIC`` is dropped), and in the body only the statements that are plain DML
(``INSERT`` / ``UPDATE`` / ``DELETE`` / ``MERGE``, optionally right after ``BEGIN``) are
translated; control flow, ``EXECUTE`` strings and declarations pass through verbatim, so keep
those dialect-neutral.
"""

from __future__ import annotations

import re

_PROCEDURE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?PROCEDURE\s+(?P<name>[\w.\"]+)\s*\((?P<args>.*?)\)\s*"
    r"(?P<nonatomic>NONATOMIC\s+)?AS\s+(?P<tag>\$\w*\$)(?P<body>.*)(?P=tag)(?P<tail>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_ARG_MODES = {"IN", "OUT", "INOUT"}
_DML_IN_BODY = re.compile(
    r"^(?P<lead>\s*(?:BEGIN\s+)?)(?P<stmt>(?:INSERT|UPDATE|DELETE|MERGE)\b.*)$", re.IGNORECASE | re.DOTALL
)
# Clauses sqlglot cannot parse; removed before parsing (they have no PostgreSQL meaning).
_UNPARSEABLE_CLAUSES = (
    re.compile(r"\bINTERLEAVED\s+SORTKEY\s*\([^)]*\)", re.IGNORECASE),
    re.compile(r"\bSORTKEY\s+AUTO\b", re.IGNORECASE),
)


def split_statements(sql: str) -> list[str]:
    """The statements of a script without their ``;`` and comments (``DbApiHook.split_sql_string``:
    sqlparse, which respects quotes and dollar-quoted bodies)."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    return [statement.strip() for statement in DbApiHook.split_sql_string(sql, strip_semicolon=True)]


def _strip_physical_design(node):  # sqlglot transform callback
    from sqlglot import exp

    if isinstance(
        node, (exp.DistKeyProperty, exp.SortKeyProperty, exp.DistStyleProperty, exp.BackupProperty)
    ):
        return None
    if isinstance(node, exp.ColumnConstraint) and isinstance(
        node.args.get("kind"), exp.EncodeColumnConstraint
    ):
        return None
    if isinstance(node, exp.DataType):
        if node.is_type(exp.DataType.Type.SUPER):
            return exp.DataType.build("JSONB", dialect="postgres")
        if node.is_type(exp.DataType.Type.VARCHAR, exp.DataType.Type.NVARCHAR) and any(
            param.name.upper() == "MAX" for param in node.expressions
        ):
            return exp.DataType.build("TEXT")
    return node


def translate_statement(statement: str) -> str:
    """One non-procedure Redshift statement in PostgreSQL."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel

    for pattern in _UNPARSEABLE_CLAUSES:
        statement = pattern.sub("", statement)
    tree = sqlglot.parse_one(statement, read="redshift", error_level=ErrorLevel.RAISE)
    if isinstance(tree, exp.Command):
        raise ValueError(
            "sqlglot could not parse this statement as Redshift SQL, so it cannot be translated; "
            f"simplify it or keep it dialect-neutral:\n{statement}"
        )
    return tree.transform(_strip_physical_design).sql(dialect="postgres")


def _translate_arguments(args: str) -> str:
    translated = []
    for arg in _split_top_level_commas(args):
        tokens = arg.split()
        if len(tokens) >= 3 and tokens[1].upper() in _ARG_MODES:
            tokens = [tokens[1], tokens[0], *tokens[2:]]
        translated.append(" ".join(tokens))
    return ", ".join(translated)


def _split_top_level_commas(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def _translate_body(body: str) -> str:
    out = []
    for piece in _split_keep_separators(body):
        match = _DML_IN_BODY.match(piece)
        out.append(match.group("lead") + translate_statement(match.group("stmt")) if match else piece)
    return ";".join(out)


def _split_keep_separators(body: str) -> list[str]:
    """Split a procedure body on top-level ``;`` keeping whitespace, so ``';'.join`` rebuilds it."""
    pieces: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for char in body:
        if quote:
            quote = None if char == quote else quote
        elif char in ("'", '"'):
            quote = char
        elif char == ";":
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return pieces


def translate_procedure(statement: str) -> str:
    match = _PROCEDURE.match(statement)
    if not match:
        raise ValueError(
            "Stored procedure not in the supported form 'CREATE [OR REPLACE] PROCEDURE name(args) "
            f"[NONATOMIC] AS $$ ... $$ LANGUAGE plpgsql':\n{statement[:300]}"
        )
    tag = match.group("tag")
    return (
        f"CREATE OR REPLACE PROCEDURE {match.group('name')}({_translate_arguments(match.group('args'))}) "
        f"AS {tag}{_translate_body(match.group('body'))}{tag}{match.group('tail').rstrip()}"
    )


def is_procedure(statement: str) -> bool:
    return bool(re.match(r"^\s*CREATE\s+(OR\s+REPLACE\s+)?PROCEDURE\b", statement, re.IGNORECASE))


def to_postgres(sql: str) -> list[str]:
    """Every statement of a Redshift SQL script, translated for PostgreSQL."""
    return [
        translate_procedure(s) if is_procedure(s) else translate_statement(s) for s in split_statements(sql)
    ]


def for_dialect(sql: str, dialect: str) -> list[str]:
    """The statements of ``sql`` (Redshift dialect) for ``dialect`` (``redshift`` or ``postgres``)."""
    if dialect == "redshift":
        return split_statements(sql)
    if dialect == "postgres":
        return to_postgres(sql)
    raise ValueError(f"Unknown warehouse dialect {dialect!r}; expected 'redshift' or 'postgres'.")
