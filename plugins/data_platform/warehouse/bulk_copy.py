"""Bulk paths into the staging table: Redshift ``COPY`` from a manifest, PostgreSQL ``COPY FROM STDIN``.

Never row-by-row: on aws Redshift reads the Parquet files itself (the manifest lists exactly the
files of this load, with their sizes as Redshift requires for columnar formats); locally the
Parquet files are streamed batch by batch through pyarrow's CSV writer into ``COPY ... FROM
STDIN`` of the open transaction (psycopg 3 ``cursor.copy`` or psycopg2 ``copy_expert``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from data_platform.lake import storage
from data_platform.lake.storage import LakeFile
from data_platform.warehouse.staging import StagingColumn
from data_platform.warehouse.tables import quote

BATCH_ROWS = 64 * 1024


def build_manifest(files: list[LakeFile]) -> dict[str, Any]:
    """A Redshift COPY manifest; ``content_length`` is mandatory for Parquet."""
    for file in files:
        if not file.uri.startswith("s3://"):
            raise ValueError(f"Redshift COPY reads from S3 only, got {file.uri}.")
    return {"entries": [{"url": f.uri, "mandatory": True, "meta": {"content_length": f.size}} for f in files]}


def write_manifest(manifest_uri: str, files: list[LakeFile]) -> str:
    return storage.write_text(manifest_uri, json.dumps(build_manifest(files), indent=2))


def redshift_copy_sql(stage: str, manifest_uri: str, iam_role_arn: str | None) -> str:
    if not iam_role_arn:
        raise ValueError(
            "Redshift COPY needs warehouse_copy_role_arn for this environment "
            "(include/platform/environments.yaml); credentials are never put into SQL."
        )
    if "'" in manifest_uri or "'" in iam_role_arn:
        raise ValueError("Quotes are not allowed in the manifest URI or the IAM role ARN.")
    return f"COPY {stage}\nFROM '{manifest_uri}'\nIAM_ROLE '{iam_role_arn}'\nFORMAT AS PARQUET\nMANIFEST"


def _csv_chunks(uri: str, columns: list[StagingColumn], counter: list[int]) -> Iterator[bytes]:
    """The rows of one Parquet file as CSV bytes, one chunk per record batch."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with storage.open_file(uri) as handle:
        parquet = pq.ParquetFile(handle)
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[c.source_name for c in columns]):
            counter[0] += batch.num_rows
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, options)
            yield buffer.getvalue()


class _ChunkReader(io.RawIOBase):
    """File-like view of an iterator of byte chunks (what psycopg2's ``copy_expert`` reads)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return b""
        size = len(self._pending) if size is None or size < 0 else size
        out, self._pending = self._pending[:size], self._pending[size:]
        return out


def copy_parquet_into_postgres(
    cursor: Any, stage: str, columns: list[StagingColumn], files: list[LakeFile]
) -> int:
    """Stream every file into ``stage`` with ``COPY FROM STDIN``; returns the rows sent."""
    names = ", ".join(quote(c.name, "postgres") for c in columns)
    sql = f"COPY {quote(stage, 'postgres')} ({names}) FROM STDIN WITH (FORMAT csv)"
    counter = [0]
    for file in files:
        chunks = _csv_chunks(file.uri, columns, counter)
        if hasattr(cursor, "copy"):  # psycopg 3
            with cursor.copy(sql) as copy:
                for chunk in chunks:
                    copy.write(chunk)
        else:  # psycopg2
            cursor.copy_expert(sql, _ChunkReader(chunks))
    return counter[0]
