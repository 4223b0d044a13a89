"""CDC table configurations: the validated format, the loader and batch planning.

One YAML file per source database in ``include/cdc/tables/`` (``<source_db>.yaml``)::

    source_db: shop            # the database DMS replicates
    defaults:                  # merged into every table below (a table's own keys win)
      source_schema: public
      cadence: hourly
      ...
    tables:
      - source_table: customers
        primary_key: [customer_id]
        ...

This module stays light (pydantic + PyYAML, no pyspark) so the DAG factory can import it at
parse time. Adding a table = adding an entry; no code changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COLUMN = re.compile(r"^[^\s,`]+$")
_SPARK_TYPE = re.compile(
    r"^(?:string|boolean|tinyint|smallint|int|integer|bigint|float|double|date|timestamp|timestamp_ntz"
    r"|decimal\(\s*\d+\s*,\s*\d+\s*\))$"
)
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_CADENCE = re.compile(r"^(?:(?P<minutes>\d+)min|hourly|daily)$")
_MINUTE_CADENCES = (5, 10, 15, 20, 30)

# Columns the pipeline adds to every lake table, change set and history row.
OP_COLUMN = "_cdc_op"
SEQ_COLUMN = "_cdc_seq"
SYSTEM_COLUMNS = (OP_COLUMN, SEQ_COLUMN)
INDEX_FORMAT = "cdc-table-index/1"  # a compiled index (spark_jobs.cdc.table_index)
INDEX_DERIVED_FIELDS = ("table_id", "database", "table")  # in the index, not TableConfig fields


class TableConfigError(ValueError):
    """A table configuration file is invalid; the message names file, table and field."""


class CsvOptions(BaseModel):
    """How DMS writes CSV for this table (S3 endpoint settings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: str = Field(",", min_length=1, max_length=1, description="CsvDelimiter")
    header: bool = Field(True, description="AddColumnName=true: first line holds column names")
    quote: str = Field('"', min_length=1, max_length=1)
    escape: str = Field('"', min_length=1, max_length=1, description="quotes inside values are doubled")
    null_value: str = Field("", description="CsvNullValue: the text DMS writes for NULL")


class ColumnSpec(BaseModel):
    """One source column, in file order (needed for header-less CSV; gives CSV columns types)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: str = Field("string", description="Spark SQL type, e.g. bigint, decimal(12,2), date")

    @field_validator("name")
    @classmethod
    def _column_name(cls, value: str) -> str:
        if not _COLUMN.match(value):
            raise ValueError(f"column name {value!r} must not contain spaces, commas or backticks")
        return value

    @field_validator("type")
    @classmethod
    def _spark_type(cls, value: str) -> str:
        text = value.strip().lower()
        if not _SPARK_TYPE.match(text):
            raise ValueError(
                f"{value!r} is not a Spark SQL type a CSV value can be cast to; use one of "
                "string, boolean, tinyint, smallint, int, bigint, float, double, decimal(p,s), "
                "date, timestamp, timestamp_ntz"
            )
        match = _DECIMAL.match(text)
        if match and not (1 <= int(match.group(1)) <= 38 and int(match.group(2)) <= int(match.group(1))):
            raise ValueError(f"{value!r}: decimal(p,s) needs 1 <= p <= 38 and s <= p")
        return value


class TableConfig(BaseModel):
    """One source table replicated by DMS into one lake table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_db: str = Field(description="source database; also the DMS bucket folder by default")
    source_schema: str = Field(description="schema folder DMS writes under")
    source_table: str
    dms_folder: str | None = Field(
        None, description="folder under the landing root holding <schema>/<table>/ (default: source_db)"
    )
    primary_key: list[str] = Field(min_length=1)
    partition_by: list[str] = Field(default_factory=list)
    ordering_columns: list[str] = Field(
        min_length=1,
        description="columns that order changes, most significant first, e.g. the DMS "
        "TimestampColumnName column and a change-sequence column ($AR_H_CHANGE_SEQ)",
    )
    table_type: Literal["COPY_ON_WRITE", "MERGE_ON_READ"] = "COPY_ON_WRITE"
    storage_mode: Literal["current", "historical"] = "current"
    cadence: str
    batch_size: int = Field(5, ge=1, description="tables per Spark job")
    target_database: str | None = Field(None, description="lake / Glue database (default: source_db)")
    target_table: str | None = Field(None, description="lake / Glue table (default: source_table)")
    file_format: Literal["csv", "parquet"]
    csv: CsvOptions = Field(default_factory=CsvOptions)
    columns: list[ColumnSpec] | None = Field(
        None,
        description="CSV only: header-less files list every column in file order (after Op); "
        "files with a header list the columns that need a type other than string",
    )
    op_column: str = Field("Op", description="name of the DMS operation column (I/U/D)")
    bad_rows: Literal["fail", "quarantine"] = Field(
        "fail",
        description="fail: any bad row fails the table's load (nothing applied, files stay pending); "
        "quarantine: bad rows go to quarantine, the rest is applied",
    )
    retention_versions: int = Field(3, ge=1, description="snapshot versions / Hudi commits kept")
    warehouse_table: str | None = Field(None, description="warehouse table loaded from this lake table")
    new_columns: Literal["fail", "add"] = Field(
        "fail",
        description="the warehouse load, when the change set has a column warehouse_table lacks "
        "(schema drift): fail names the column and loads nothing (add it to the table's DDL); add "
        "adds it to the table (ALTER TABLE ... ADD COLUMN, nullable, type from the files). "
        "Never dropped (data_platform.warehouse.loader.LoadSpec.new_columns)",
    )
    dq_rule: str | None = Field(None, description="data quality rule set run after the warehouse load")

    @field_validator("source_db", "target_database", "target_table")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError(f"{value!r} must be letters, digits and underscores, not starting with a digit")
        return value

    @field_validator("source_schema", "source_table", "dms_folder")
    @classmethod
    def _path_segment(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or value.strip("/") != value or ".." in value):
            raise ValueError(f"{value!r} must be a plain folder name")
        return value

    @field_validator("primary_key", "partition_by", "ordering_columns", mode="before")
    @classmethod
    def _column_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("primary_key", "partition_by", "ordering_columns")
    @classmethod
    def _column_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _COLUMN.match(name):
                raise ValueError(f"column name {name!r} must not contain spaces, commas or backticks")
        if len(set(value)) != len(value):
            raise ValueError(f"duplicate column in {value}")
        return value

    @field_validator("cadence")
    @classmethod
    def _cadence(cls, value: str) -> str:
        cadence_to_cron(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TableConfig:
        overlap = set(self.primary_key) & set(self.ordering_columns)
        if overlap:
            raise ValueError(f"ordering_columns {sorted(overlap)} are also primary key columns")
        reserved = {self.op_column, *SYSTEM_COLUMNS}
        used = [*self.primary_key, *self.partition_by, *self.ordering_columns]
        if reserved & set(used):
            raise ValueError(f"columns {sorted(reserved & set(used))} are reserved by the pipeline")
        if self.file_format == "csv" and not self.csv.header and not self.columns:
            raise ValueError("csv.header is false, so 'columns' must list the file's columns in order")
        if self.columns is not None:
            if self.file_format != "csv":
                raise ValueError("'columns' only applies to CSV tables (Parquet files carry their own types)")
            names = [c.name for c in self.columns]
            if len(set(names)) != len(names):
                raise ValueError("duplicate names in 'columns'")
            missing = [c for c in used if c not in names]
            if missing and not self.csv.header:
                raise ValueError(
                    f"columns {missing} are used as keys/ordering/partition but not in 'columns'"
                )
        return self

    @property
    def database(self) -> str:
        """Lake database (``target_database``, default ``source_db``)."""
        return self.target_database or self.source_db

    @property
    def table(self) -> str:
        """Lake table name (``target_table``, default ``source_table``)."""
        return self.target_table or self.source_table

    @property
    def table_id(self) -> str:
        """``<database>.<table>`` in the lake: the id used in plans, ``--tables`` and state."""
        return f"{self.database}.{self.table}"

    @property
    def landing_folder(self) -> str:
        """``<dms_folder>/<schema>/<table>`` relative to the landing root."""
        return "/".join([self.dms_folder or self.source_db, self.source_schema, self.source_table])


def cadence_to_cron(cadence: str) -> str:
    """``10min`` -> ``*/10 * * * *``, ``hourly`` -> ``0 * * * *``, ``daily`` -> ``0 0 * * *``."""
    match = _CADENCE.match(cadence or "")
    if not match:
        raise ValueError(
            f"cadence {cadence!r} must be '<n>min' (n in {_MINUTE_CADENCES}), 'hourly' or 'daily'"
        )
    if cadence == "hourly":
        return "0 * * * *"
    if cadence == "daily":
        return "0 0 * * *"
    minutes = int(match.group("minutes"))
    if minutes not in _MINUTE_CADENCES:
        raise ValueError(f"cadence {cadence!r}: minutes must be one of {_MINUTE_CADENCES}")
    return f"*/{minutes} * * * *"


def _read_text(location: str) -> str:
    if "://" in location and not location.startswith("file://"):
        import fsspec

        with fsspec.open(location, "r") as handle:
            return handle.read()
    path = location[len("file://") :] if location.startswith("file://") else location
    return Path(path).read_text()


def _config_files(path_or_dir: str | Path) -> list[str]:
    location = str(path_or_dir)
    if "://" in location and not location.startswith("file://"):
        import fsspec

        fs, root = fsspec.core.url_to_fs(location)
        if fs.isdir(root):
            protocol = location.split("://", 1)[0]
            found = sorted(p for p in fs.find(root) if p.endswith((".yaml", ".yml")))
            return [f"{protocol}://{p}" for p in found]
        return [location]
    path = Path(location[len("file://") :] if location.startswith("file://") else location)
    if path.is_dir():
        return [str(p) for p in sorted([*path.glob("*.yaml"), *path.glob("*.yml")])]
    if not path.exists():
        raise TableConfigError(f"{path}: no such file or folder of CDC table configs")
    return [str(path)]


def format_error(source: str, table: str, error: Any) -> str:
    """One pydantic error as ``<source>: table '<table>': field '<field>': <message>``."""
    field_path = ".".join(str(part) for part in error["loc"]) or "(table)"
    return f"{source}: table {table!r}: field {field_path!r}: {error['msg']}"


def parse_table_file(text: str, source: str = "<string>") -> list[TableConfig]:
    """Validate one config file's content; raises :class:`TableConfigError` listing every problem."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TableConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise TableConfigError(f"{source}: expected a mapping with 'source_db' and 'tables'")
    unknown = set(document) - {"source_db", "defaults", "tables"}
    if unknown:
        raise TableConfigError(
            f"{source}: unknown top-level keys {sorted(unknown)} (allowed: source_db, defaults, tables)"
        )
    source_db = document.get("source_db")
    defaults = document.get("defaults") or {}
    tables = document.get("tables")
    if not source_db:
        raise TableConfigError(f"{source}: 'source_db' is required")
    if not isinstance(defaults, dict):
        raise TableConfigError(f"{source}: 'defaults' must be a mapping")
    if not isinstance(tables, list) or not tables:
        raise TableConfigError(f"{source}: 'tables' must be a non-empty list")
    entries: list[tuple[str, dict[str, Any]]] = []
    problems: list[str] = []
    for index, entry in enumerate(tables):
        if not isinstance(entry, dict):
            problems.append(f"{source}: tables[{index}] must be a mapping")
            continue
        name = str(entry.get("source_table") or f"tables[{index}]")
        entries.append((name, {**defaults, **entry, "source_db": source_db}))
    return _validated(source, entries, problems)


def _validated(
    source: str, entries: Iterable[tuple[str, dict[str, Any]]], problems: list[str]
) -> list[TableConfig]:
    """``TableConfig`` of every (name, values) entry; raises :class:`TableConfigError` listing
    ``problems`` and every entry's validation errors (file, table, field) when there are any."""
    configs: list[TableConfig] = []
    for name, values in entries:
        try:
            configs.append(TableConfig.model_validate(values))
        except ValidationError as exc:
            problems.extend(format_error(source, name, error) for error in exc.errors())
    if problems:
        raise TableConfigError("\n".join(problems))
    return configs


def parse_index(text: str, source: str = "<string>") -> list[TableConfig]:
    """The table configs of an index document (validated again: a job may be older or newer
    than the index it is given, and must refuse fields it does not know)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TableConfigError(f"{source}: not valid JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != INDEX_FORMAT:
        raise TableConfigError(
            f"{source}: not a CDC table index (expected format {INDEX_FORMAT!r}); compile it with "
            "python -m spark_jobs.cdc.table_index"
        )
    entries = [
        (table_id, {k: v for k, v in fields.items() if k not in INDEX_DERIVED_FIELDS})
        for table_id, fields in document["tables"].items()
    ]
    return _validated(source, entries, [])


def load_table_configs(path_or_dir: str | Path) -> list[TableConfig]:
    """All table configs of a file or folder (local path, file:// or s3:// URI), sorted by table id.

    A ``.json`` file is a compiled index (:mod:`spark_jobs.cdc.table_index`), as the CDC DAGs
    hand it to the planner and the merge job.

    Raises :class:`TableConfigError` naming the file, table and field of every problem, and
    when two entries map to the same lake table.
    """
    configs: list[TableConfig] = []
    origin: dict[str, str] = {}
    problems: list[str] = []
    for source in _config_files(path_or_dir):
        try:
            if source.endswith(".json"):  # a compiled index (spark_jobs.cdc.table_index)
                parsed = parse_index(_read_text(source), source)
            else:
                parsed = parse_table_file(_read_text(source), source)
        except TableConfigError as exc:
            problems.append(str(exc))
            continue
        for config in parsed:
            if config.table_id in origin:
                problems.append(
                    f"{source}: table {config.source_table!r}: lake table {config.table_id!r} is "
                    f"already configured in {origin[config.table_id]}; set target_database/target_table"
                )
                continue
            origin[config.table_id] = source
            configs.append(config)
    if problems:
        raise TableConfigError("\n".join(problems))
    return sorted(configs, key=lambda c: c.table_id)


def select_tables(configs: Iterable[TableConfig], table_ids: Sequence[str]) -> list[TableConfig]:
    """The configs for ``table_ids`` (in that order); unknown ids raise :class:`TableConfigError`."""
    by_id = {c.table_id: c for c in configs}
    unknown = [t for t in table_ids if t not in by_id]
    if unknown:
        raise TableConfigError(f"unknown CDC tables {unknown}; known: {sorted(by_id)}")
    return [by_id[t] for t in table_ids]


def cadences(configs: Iterable[TableConfig]) -> list[str]:
    """The distinct cadences (one DAG each), sorted."""
    return sorted({c.cadence for c in configs})


def chunk_batches(configs: Iterable[TableConfig]) -> list[list[TableConfig]]:
    """Split tables into Spark-job batches: grouped by ``batch_size``, then by table id, in chunks."""
    ordered = sorted(configs, key=lambda c: (c.batch_size, c.table_id))
    batches: list[list[TableConfig]] = []
    for size, group in groupby(ordered, key=lambda c: c.batch_size):
        members = list(group)
        batches.extend(members[i : i + size] for i in range(0, len(members), size))
    return batches


def plan_batches(configs: Iterable[TableConfig], cadence: str) -> list[list[TableConfig]]:
    """The batches of one cadence (deterministic: same configs -> same batches)."""
    cadence_to_cron(cadence)
    return chunk_batches(c for c in configs if c.cadence == cadence)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m spark_jobs.cdc.table_config [DIR]``: validate configs, print tables and batches."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    location = args[0] if args else "include/cdc/tables"
    try:
        configs = load_table_configs(location)
    except TableConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not configs:  # e.g. include/cdc/tables of a fresh checkout: the demo's are in include/demo/
        print(f"{location}: no table configs (<source_db>.yaml) to check.")
    for cadence in cadences(configs):
        batches = plan_batches(configs, cadence)
        print(
            f"{cadence} ({cadence_to_cron(cadence)}): {sum(map(len, batches))} tables in {len(batches)} batches"
        )
        for batch in batches:
            print("  " + ", ".join(f"{c.table_id} [{c.storage_mode}, {c.file_format}]" for c in batch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
