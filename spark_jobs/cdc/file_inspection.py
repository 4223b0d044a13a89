"""Look at each pending DMS file before Spark reads it: readable? which columns? Op present?

Reading the Parquet footer or the first CSV line per file keeps this cheap, and turns a
broken file into an error that names the file instead of a Spark stack trace. Two checks read
more, because Spark would otherwise fail on them without naming the file: a gzip-compressed CSV
is decompressed to its end (a file cut short), and every Parquet data page is decoded (a page
corrupted behind an intact footer). A UTF-8 byte order mark before a CSV header is refused
(DMS never writes one; Spark would read it into the first column's name).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from spark_jobs.cdc.dms_files import CDC, LandedFile
from spark_jobs.cdc.results import (
    MISSING_COLUMN,
    SCHEMA_DRIFT,
    UNEXPECTED_FILE_FORMAT,
    UNREADABLE_FILE,
)
from spark_jobs.cdc.table_config import TableConfig
from spark_jobs.common.lake import open_file

_FIRST_LINE_LIMIT = 1 << 20
_CHUNK = 8 << 20
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class FileShape:
    """The columns of one readable file, in file order (including the Op column if present)."""

    file: LandedFile
    columns: tuple[str, ...]
    has_op: bool
    empty: bool = False
    signature: str = ""
    """Equal for files Spark can read together (same format and same physical schema)."""


@dataclass(frozen=True)
class FileProblem:
    file: LandedFile
    kind: str
    reason: str


def _first_csv_record(file: LandedFile, config: TableConfig) -> list[str] | None:
    with open_file(file.uri) as raw:
        head = raw.read(_FIRST_LINE_LIMIT)
    if not head:
        return None
    if head.startswith(_UTF8_BOM):
        raise ValueError(
            "starts with a UTF-8 byte order mark (BOM) before the header; DMS never writes one: "
            "save the file as UTF-8 without BOM"
        )
    if file.uri.endswith(".gz"):
        _read_to_end(file)
    if len(head) == _FIRST_LINE_LIMIT and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]  # never cut a multi-byte character in half
    if b"\x00" in head:
        raise ValueError("contains NUL bytes: not a text CSV file")
    text = head.decode("utf-8")  # strict: a decoding error means the file is not DMS CSV
    reader = csv.reader(io.StringIO(text), delimiter=config.csv.delimiter, quotechar=config.csv.quote)
    return next(reader, None)


def _read_to_end(file: LandedFile) -> None:
    """Decompress a gzip file to its end: a stream cut short raises ``EOFError``."""
    import zlib

    try:
        with open_file(file.uri) as stream:
            while stream.read(_CHUNK):
                pass
    except zlib.error as exc:
        raise ValueError(f"gzip data is corrupt: {exc}") from None
    except EOFError:
        raise ValueError("gzip stream is cut short (the file is truncated)") from None


def _inspect_csv(file: LandedFile, config: TableConfig) -> FileShape | FileProblem:
    try:
        record = _first_csv_record(file, config)
    except (OSError, ValueError, EOFError) as exc:
        return FileProblem(file, UNREADABLE_FILE, f"cannot read CSV: {exc}")
    if record is None:
        return FileShape(file, (), has_op=False, empty=True, signature="empty")
    if config.csv.header:
        columns = tuple(name.strip() for name in record)
        if len(set(columns)) != len(columns) or "" in columns:
            return FileProblem(
                file, UNREADABLE_FILE, f"CSV header has empty or duplicate names: {list(columns)}"
            )
        has_op = config.op_column in columns
    else:
        configured = tuple(c.name for c in config.columns or ())
        if len(record) == len(configured) + 1:
            columns, has_op = (config.op_column, *configured), True
        elif len(record) == len(configured):
            columns, has_op = configured, False
        else:
            return FileProblem(
                file,
                SCHEMA_DRIFT,
                f"first row has {len(record)} fields; 'columns' lists {len(configured)} (+1 for Op)",
            )
    return FileShape(file, columns, has_op, signature="csv:" + "\x1f".join(columns))


def _inspect_parquet(file: LandedFile, config: TableConfig) -> FileShape | FileProblem:
    import pyarrow.parquet as pq

    try:
        with open_file(file.uri) as handle:
            schema = pq.ParquetFile(handle).schema_arrow
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for corrupt files
        return FileProblem(file, UNREADABLE_FILE, f"cannot read Parquet footer: {exc}")
    try:
        with open_file(file.uri) as handle:
            for _ in pq.ParquetFile(handle, page_checksum_verification=True).iter_batches(batch_size=65536):
                pass
    except Exception as exc:  # noqa: BLE001 - a corrupt data page behind an intact footer
        return FileProblem(file, UNREADABLE_FILE, f"cannot read Parquet data: {exc}")
    columns = tuple(schema.names)
    signature = "parquet:" + "\x1f".join(f"{f.name}:{f.type}" for f in schema)
    return FileShape(file, columns, config.op_column in columns, signature=signature)


def inspect_file(file: LandedFile, config: TableConfig) -> FileShape | FileProblem:
    """The shape of a file, or the problem that stops it from being read."""
    if file.file_format != config.file_format:
        return FileProblem(
            file,
            UNEXPECTED_FILE_FORMAT,
            f"is {file.file_format} but the table is configured for {config.file_format} "
            "(file_format in its CDC table config)",
        )
    shape = _inspect_csv(file, config) if file.file_format == "csv" else _inspect_parquet(file, config)
    if isinstance(shape, FileProblem) or shape.empty:
        return shape
    if file.kind == CDC and not shape.has_op:
        return FileProblem(file, MISSING_COLUMN, f"CDC file has no {config.op_column!r} column")
    required = [*config.primary_key, *config.ordering_columns, *config.partition_by]
    missing = [c for c in required if c not in shape.columns]
    if missing:
        return FileProblem(file, MISSING_COLUMN, f"missing key/ordering/partition columns {missing}")
    return shape


def inspect_files(files: list[LandedFile], config: TableConfig) -> tuple[list[FileShape], list[FileProblem]]:
    shapes: list[FileShape] = []
    problems: list[FileProblem] = []
    for file in files:
        found = inspect_file(file, config)
        (problems if isinstance(found, FileProblem) else shapes).append(found)  # type: ignore[arg-type]
    return shapes, problems
