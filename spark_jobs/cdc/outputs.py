"""Read CDC outputs without Spark (pyarrow + fsspec): current snapshots, change sets, results.

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
from spark_jobs.common.lake import exists, filesystem, join_uri, list_files, read_json

if TYPE_CHECKING:
    import pyarrow as pa


def current_pointer(lake_root: str, database: str, table: str) -> dict[str, Any] | None:
    """The snapshot sink's ``_current.json`` (version, path, row_count, columns...), or ``None``."""
    return read_json(TableLayout(lake_root, database, table).pointer_uri)


def _require_pointer(lake_root: str, database: str, table: str) -> dict[str, Any]:
    """The pointer, with ``uri`` = the current version folder under this lake root."""
    layout = TableLayout(lake_root, database, table)
    pointer = read_json(layout.pointer_uri)
    if pointer is not None:
        return {**pointer, "uri": join_uri(layout.table_root, pointer["path"])}
    if exists(join_uri(layout.hudi_uri, ".hoodie")):
        raise ValueError(
            f"{layout.table_id} is a Hudi table ({layout.hudi_uri}); read it with Spark or Athena, "
            "or load its change sets"
        )
    raise FileNotFoundError(f"{layout.table_id} has no committed version yet ({layout.pointer_uri})")


def _parquet_files(uri: str) -> list[str]:
    names = (f.uri for f in list_files(uri))
    return [u for u in names if u.endswith(".parquet") and not u.rsplit("/", 1)[-1].startswith(("_", "."))]


def current_files(lake_root: str, database: str, table: str) -> list[str]:
    """Parquet files of the current snapshot version.

    Partitioned tables keep partition values in the folder names (``order_date=2024-05-01/``),
    not inside the files; :func:`read_current` restores them.
    """
    return _parquet_files(_require_pointer(lake_root, database, table)["uri"])


def read_current(lake_root: str, database: str, table: str, columns: list[str] | None = None) -> pa.Table:
    """The table's current snapshot (snapshot sink) as a pyarrow Table, columns in table order."""
    import pyarrow as pa
    import pyarrow.dataset as ds

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
    """Parquet files of the change set written by ``run_id`` (``[]`` when it wrote none)."""
    return _parquet_files(TableLayout(lake_root, database, table).changes_uri(run_id))


def read_changes(lake_root: str, database: str, table: str, run_id: str) -> pa.Table:
    """The change set of ``run_id`` as a pyarrow Table (data columns + ``_cdc_op``, ``_cdc_seq``)."""
    import pyarrow.dataset as ds

    files = changes_files(lake_root, database, table, run_id)
    if not files:
        raise FileNotFoundError(f"{database}.{table}: run {run_id!r} wrote no change set")
    fs, _ = filesystem(files[0])
    return ds.dataset([filesystem(f)[1] for f in files], filesystem=fs, format="parquet").to_table()
