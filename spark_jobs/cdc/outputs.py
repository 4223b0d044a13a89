"""Read CDC outputs without Spark (pyarrow + fsspec, hudi-rs for Hudi tables): current tables,
change sets, results.

For the warehouse load: after a run with status ``ok``, load the change set
(:func:`changes_files` / :func:`read_changes`): one row per changed key with ``_cdc_op``
(``I`` new key, ``U`` updated key, ``D`` deleted key; historical tables: every change row),
all columns inside the Parquet files. When the result says ``full_load: true``, the change
set is the whole table: replace the warehouse table instead of merging.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.sinks.hudi import RUN_ID_METADATA_KEY
from spark_jobs.common.lake import (
    exists,
    filesystem,
    is_s3,
    join_uri,
    list_dir_names,
    list_files,
    local_path,
    read_bytes,
    read_json,
)

if TYPE_CHECKING:
    import pyarrow as pa


def current_pointer(lake_root: str, database: str, table: str) -> dict[str, Any] | None:
    """The snapshot sink's ``_current.json`` (version, path, row_count, columns...), or ``None``."""
    return read_json(TableLayout(lake_root, database, table).pointer_uri)


def is_hudi_table(lake_root: str, database: str, table: str) -> bool:
    """Whether the table is stored by the Hudi sink (``<table root>/hudi/.hoodie`` exists)."""
    return exists(join_uri(TableLayout(lake_root, database, table).hudi_uri, ".hoodie"))


def _require_pointer(lake_root: str, database: str, table: str) -> dict[str, Any]:
    """The pointer, with ``uri`` = the current version folder under this lake root."""
    layout = TableLayout(lake_root, database, table)
    pointer = read_json(layout.pointer_uri)
    if pointer is not None:
        return {**pointer, "uri": join_uri(layout.table_root, pointer["path"])}
    if is_hudi_table(lake_root, database, table):
        raise ValueError(
            f"{layout.table_id} is a Hudi table ({layout.hudi_uri}): it has no snapshot files; "
            "read it with read_current (hudi-rs) or Spark"
        )
    raise FileNotFoundError(f"{layout.table_id} has no committed version yet ({layout.pointer_uri})")


def _hudi_storage_options(uri: str) -> dict[str, str]:
    """object_store options of hudi-rs for ``s3://`` (a local S3 such as moto: AWS_ENDPOINT_URL)."""
    import os

    if not is_s3(uri):
        return {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return {}
    return {
        "aws_endpoint_url": endpoint,
        "aws_allow_http": str(endpoint.startswith("http://")).lower(),
        "aws_virtual_hosted_style_request": "false",
    }


def read_hudi(lake_root: str, database: str, table: str, columns: list[str] | None = None) -> pa.Table:
    """The Hudi table's latest snapshot (COPY_ON_WRITE and MERGE_ON_READ: base files merged with
    their log files) as a pyarrow Table, read with hudi-rs (the ``hudi`` package: no JVM, a
    reader independent of the Spark writer). Hudi's meta columns (``_hoodie_*``) are left out."""
    import pyarrow as pa
    from hudi import HudiTableBuilder

    uri = TableLayout(lake_root, database, table).hudi_uri
    location = local_path(uri) if uri.startswith("file://") else uri
    hudi_table = (
        HudiTableBuilder.from_base_uri(location).with_storage_options(_hudi_storage_options(uri)).build()
    )
    batches = hudi_table.read()
    data = pa.Table.from_batches(batches) if batches else hudi_table.get_schema().empty_table()
    names = [n for n in data.column_names if not n.startswith("_hoodie_")]
    return data.select(columns or names)


def _parquet_files(uri: str) -> list[str]:
    names = (f.uri for f in list_files(uri))
    return [u for u in names if u.endswith(".parquet") and not u.rsplit("/", 1)[-1].startswith(("_", "."))]


def current_files(lake_root: str, database: str, table: str) -> list[str]:
    """Parquet files of the current snapshot version.

    Partitioned tables keep partition values in the folder names (``order_date=2024-05-01/``),
    not inside the files; :func:`read_current` restores them.
    """
    return _parquet_files(_require_pointer(lake_root, database, table)["uri"])


def hudi_commits(lake_root: str, database: str, table: str) -> list[dict[str, Any]]:
    """Completed commits of a Hudi table, oldest first: ``{"instant", "action", "run_id"}``.

    Reads the timeline files (``.hoodie/<instant>.<commit|deltacommit|replacecommit>``, JSON in
    table version 6 = Hudi 0.15); ``run_id`` is the commit metadata's ``_cdc_run_id``.
    """
    import json
    import re

    timeline = join_uri(TableLayout(lake_root, database, table).hudi_uri, ".hoodie")
    completed = re.compile(r"^(\d+)\.(commit|deltacommit|replacecommit)$")
    commits = []
    for name in list_dir_names(timeline):
        match = completed.match(name)
        if match:
            metadata = json.loads(read_bytes(join_uri(timeline, name)) or b"{}")
            run_id = (metadata.get("extraMetadata") or {}).get(RUN_ID_METADATA_KEY)
            commits.append({"instant": match.group(1), "action": match.group(2), "run_id": run_id})
    return sorted(commits, key=lambda c: c["instant"])


def read_current(lake_root: str, database: str, table: str, columns: list[str] | None = None) -> pa.Table:
    """The table's current state as a pyarrow Table, columns in table order: the snapshot sink's
    current version, or a Hudi table's latest snapshot (:func:`read_hudi`)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    if read_json(TableLayout(lake_root, database, table).pointer_uri) is None and is_hudi_table(
        lake_root, database, table
    ):
        return read_hudi(lake_root, database, table, columns)
    pointer = _require_pointer(lake_root, database, table)
    fs, path = filesystem(pointer["uri"])
    schema = None
    if pointer.get("arrow_schema"):
        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(pointer["arrow_schema"])))
    partition_by = pointer.get("partition_by") or []
    partitioning = None
    if partition_by:
        fields = [schema.field(name) for name in partition_by] if schema is not None else None
        partitioning = ds.partitioning(pa.schema(fields), flavor="hive") if fields else "hive"
    dataset = ds.dataset(path, filesystem=fs, format="parquet", partitioning=partitioning, schema=schema)
    names = [c["name"] for c in pointer["columns"]]
    return dataset.to_table(columns=columns or names)


def read_result(lake_root: str, database: str, table: str, run_id: str) -> dict[str, Any] | None:
    """The result JSON of ``run_id`` for one table (see ``TableResult``), or ``None``."""
    return read_json(TableLayout(lake_root, database, table).result_uri(run_id))


def changes_files(lake_root: str, database: str, table: str, run_id: str) -> list[str]:
    """Parquet files of the change set the load of ``run_id`` gets (``[]`` when there is none):
    the one its result names (its own; a crashed run's it carries without new files of its own;
    a superseded rerun's current rows), else its own folder."""
    layout = TableLayout(lake_root, database, table)
    result = read_json(layout.result_uri(run_id)) or {}
    return _parquet_files(result.get("changes_uri") or layout.changes_uri(run_id))


def read_changes(lake_root: str, database: str, table: str, run_id: str) -> pa.Table:
    """The change set the load of ``run_id`` gets (see :func:`changes_files`) as a pyarrow Table
    (data columns + ``_cdc_op``, ``_cdc_seq``)."""
    import pyarrow.dataset as ds

    files = changes_files(lake_root, database, table, run_id)
    if not files:
        raise FileNotFoundError(f"{database}.{table}: run {run_id!r} wrote no change set")
    fs, _ = filesystem(files[0])
    return ds.dataset([filesystem(f)[1] for f in files], filesystem=fs, format="parquet").to_table()
