"""The staging table of a load, shaped after the Parquet files.

Redshift's ``COPY ... FORMAT AS PARQUET`` maps columns by position and needs as many table
columns as the files have, so the staging table mirrors the files (same columns, same order,
types from the Parquet schema); the set-based merge then casts into the target's own types.
Column names are lower-cased (Redshift folds them; DMS writes ``Op``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from data_platform.lake import storage
from data_platform.warehouse.tables import identifier, quote

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class StagingColumn:
    source_name: str  # as in the Parquet file
    name: str  # lower-cased SQL name
    sql_type: str


def read_schema(uri: str) -> pa.Schema:
    import pyarrow.parquet as pq

    try:
        with storage.open_file(uri) as handle:
            return pq.ParquetFile(handle).schema_arrow
    except Exception as err:  # noqa: BLE001 - re-raised with the file named
        raise ValueError(
            f"{uri} is not a readable Parquet file ({err}); only Parquet can be loaded."
        ) from err


def common_schema(uris: list[str]) -> pa.Schema:
    """The schema shared by all files (same column names in the same order, types unified)."""
    import pyarrow as pa

    schemas = [read_schema(uri) for uri in uris]
    first = schemas[0]
    for uri, schema in zip(uris, schemas, strict=True):
        if schema.names != first.names:
            raise ValueError(
                f"{uri} has columns {schema.names} but {uris[0]} has {first.names}; files loaded "
                "together must share their columns (load them in separate tasks or rewrite them)."
            )
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise ValueError(f"Column types differ between the files and cannot be unified: {err}") from err


def sql_type(arrow_type: pa.DataType, dialect: str, column: str) -> str:
    """The staging column type for an Arrow type (``dialect``: ``postgres`` or ``redshift``)."""
    import pyarrow.types as t

    if t.is_dictionary(arrow_type):
        return sql_type(arrow_type.value_type, dialect, column)
    text = "TEXT" if dialect == "postgres" else "VARCHAR(65535)"
    simple = [
        (t.is_null, text),
        (t.is_boolean, "BOOLEAN"),
        (lambda x: t.is_int8(x) or t.is_int16(x) or t.is_uint8(x), "SMALLINT"),
        (lambda x: t.is_int32(x) or t.is_uint16(x), "INTEGER"),
        (lambda x: t.is_int64(x) or t.is_uint32(x), "BIGINT"),
        (t.is_uint64, "DECIMAL(20,0)"),
        (lambda x: t.is_float16(x) or t.is_float32(x), "REAL"),
        (t.is_float64, "DOUBLE PRECISION"),
        (lambda x: t.is_string(x) or t.is_large_string(x) or t.is_string_view(x), text),
        (t.is_date, "DATE"),
        (t.is_time, "TIME"),
    ]
    for predicate, name in simple:
        if predicate(arrow_type):
            return name
    if t.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
    if t.is_timestamp(arrow_type):
        return "TIMESTAMPTZ" if arrow_type.tz else "TIMESTAMP"
    raise ValueError(
        f"Column {column!r} has type {arrow_type} that the warehouse load does not support "
        f"(supported: numbers, decimals, strings, booleans, dates, times, timestamps); flatten or "
        "cast it when writing the files."
    )


def staging_columns(schema: pa.Schema, dialect: str) -> list[StagingColumn]:
    columns = [StagingColumn(f.name, identifier(f.name), sql_type(f.type, dialect, f.name)) for f in schema]
    names = [c.name for c in columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Columns {duplicates} differ only by case in the files; rename them.")
    return columns


def create_stage_sql(stage: str, columns: list[StagingColumn], dialect: str) -> str:
    body = ",\n    ".join(f"{quote(c.name, dialect)} {c.sql_type}" for c in columns)
    return f"CREATE TEMP TABLE {quote(stage, dialect)} (\n    {body}\n)"
