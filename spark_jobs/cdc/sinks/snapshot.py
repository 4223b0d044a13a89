"""Parquet snapshot sink: a new table version per load and an atomic pointer to it.

Each load writes the whole table to ``versions/v=<n>/`` (partition folders inside when the
table is partitioned), then replaces ``_current.json`` (the commit point: local atomic
rename, on S3 one PUT). A partitioned ``current`` table rewrites only the partitions a load
touches (those of the changes' rows and those the changed keys lived in); the other partition
folders' files are cloned into the new version unchanged (hard links locally, server-side
copies on S3), so every version stays complete on its own. Where a key lives comes from the
version's key index (``key_index/v=<n>/``: primary key, partition columns and ``_cdc_seq`` of
every row, bucketed by a hash of the key into :data:`KEY_BUCKETS` folders, untouched buckets
cloned like partitions), so classifying a change set, dropping late changes and finding the
touched partitions read only the changed keys' buckets, never the whole table: a load's cost
follows the touched partitions. A key may move to another partition (as with Hudi's global
index): the index says where it was, and it is removed there. The pointer holds paths relative
to the table root, so a copied or replicated lake (e.g. to a DR region) stays readable. Readers
follow the pointer, so they see the old or the new version, never a half-written one. Older versions beyond the retention count are deleted after the
pointer moved; the version the pointer names is never deleted.
"""

from __future__ import annotations

import base64
import json
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spark_jobs.cdc.faults import fault_point
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.results import utc_now
from spark_jobs.cdc.table_config import OP_COLUMN, SEQ_COLUMN, TableConfig
from spark_jobs.common.lake import (
    clone_file,
    delete,
    exists,
    join_uri,
    list_dir_names,
    read_json,
    write_json_atomic,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)

POINTER_FORMAT = 1
ROWS_PER_FILE = 1_000_000
KEY_BUCKETS = 64
"""Buckets of the key index (``pmod(hash(primary key), KEY_BUCKETS)``, Spark's Murmur3 hash)."""
_FILE_COL = "_cdc_file"
_BUCKET_COL = "_cdc_key_bucket"


@dataclass(frozen=True)
class SinkCommit:
    """What a sink wrote: version (snapshot sink), row count after the write, table URI."""

    rows_after: int
    table_uri: str
    version: int | None = None


def read_pointer(layout: TableLayout) -> dict[str, Any] | None:
    """The current version pointer, or ``None`` before the first load."""
    pointer = read_json(layout.pointer_uri)
    if pointer is not None and pointer.get("format") != POINTER_FORMAT:
        raise ValueError(
            f"{layout.pointer_uri}: pointer format {pointer.get('format')!r} is not {POINTER_FORMAT}"
        )
    return pointer


def existing_versions(layout: TableLayout) -> list[int]:
    """Version numbers present under ``versions/`` (complete or not), ascending."""
    numbers = []
    for name in list_dir_names(layout.versions_root):
        if name.startswith("v=") and name[2:].isdigit():
            numbers.append(int(name[2:]))
    return sorted(numbers)


def _arrow_schema_b64(schema: Any) -> str | None:
    """The Arrow form of the Spark schema, so pyarrow readers get partition column types right."""
    try:
        from pyspark.sql.pandas.types import to_arrow_schema

        return base64.b64encode(to_arrow_schema(schema).serialize().to_pybytes()).decode()
    except Exception:  # noqa: BLE001 - optional metadata; readers fall back to inference
        log.warning("no Arrow schema for the pointer", exc_info=True)
        return None


class SnapshotSink:
    """Versioned Parquet snapshots of one table."""

    name = "snapshot"

    def __init__(
        self,
        spark: SparkSession,
        layout: TableLayout,
        config: TableConfig,
        rows_per_file: int = ROWS_PER_FILE,
    ) -> None:
        self.spark = spark
        self.layout = layout
        self.config = config
        self.rows_per_file = rows_per_file
        self._pointer = read_pointer(layout)

    @property
    def table_uri(self) -> str:
        return self.layout.table_root

    def exists(self) -> bool:
        return self._pointer is not None

    def row_count(self) -> int:
        return int(self._pointer["row_count"]) if self._pointer else 0

    def read_table(self) -> DataFrame | None:
        if self._pointer is None:
            return None
        from pyspark.sql.types import StructType

        schema = StructType.fromJson(json.loads(self._pointer["spark_schema"]))
        frame = self.spark.read.schema(schema).parquet(self.layout.version_uri(self._pointer["version"]))
        return frame.select(*[f"`{name}`" for name in schema.names])  # partition columns come last otherwise

    @property
    def _indexed(self) -> bool:
        """Partitioned ``current`` tables keep a key index (see the module docstring)."""
        return self.config.storage_mode == "current" and bool(self.config.partition_by)

    def _index_uri(self, version: int) -> str:
        return join_uri(self.layout.table_root, "key_index", f"v={version}")

    def _bucket(self) -> Column:
        from pyspark.sql import functions as F

        # hashed as text: the same bucket whatever the integer width a batch reads a key with
        keys = [F.col(f"`{k}`").cast("string") for k in self.config.primary_key]
        return F.pmod(F.hash(*keys), F.lit(KEY_BUCKETS))

    def _key_buckets(self, keys: DataFrame) -> list[int]:
        """The index buckets of ``keys`` (a frame holding the primary key columns)."""
        return sorted(r[0] for r in keys.select(self._bucket().alias(_BUCKET_COL)).distinct().collect())

    def key_rows(self, keys: DataFrame) -> DataFrame | None:
        """The table's rows of ``keys`` (a frame holding the primary key columns), at least the
        key columns and ``_cdc_seq``; ``None`` before the first load. Indexed tables: primary key,
        partition columns and ``_cdc_seq`` from the key index, reading only the keys' buckets;
        others: the whole table (a superset)."""
        if self._pointer is None:
            return None
        if not self._indexed:
            return self.read_table()
        key_columns = list(self.config.primary_key)
        wanted = keys.select(*key_columns).distinct()
        if not self._pointer.get("key_index"):  # a version written before the index existed
            table = self.read_table()
            assert table is not None
            index = table.select(*self._index_schema().names)
            return index.join(wanted, on=key_columns, how="left_semi")
        buckets = self._key_buckets(keys)
        root = join_uri(self.layout.table_root, self._pointer["key_index"])
        present = set(list_dir_names(root))
        folders = [join_uri(root, f"{_BUCKET_COL}={b}") for b in buckets if f"{_BUCKET_COL}={b}" in present]
        if not folders:
            return self._empty_index()
        index = self.spark.read.schema(self._index_schema()).parquet(*folders)
        return index.join(wanted, on=key_columns, how="left_semi")

    def _index_schema(self) -> Any:
        from pyspark.sql.types import StructType

        assert self._pointer is not None
        table = StructType.fromJson(json.loads(self._pointer["spark_schema"]))
        names = [*self.config.primary_key, *self.config.partition_by, SEQ_COLUMN]
        return StructType([table[name] for name in names])

    def _empty_index(self) -> DataFrame:
        return self.spark.createDataFrame([], self._index_schema())

    def write(self, changes: DataFrame, *, full_load: bool, run_id: str) -> SinkCommit:
        """Write the next version from the current one and ``changes`` (output-shaped rows).

        ``current`` mode: a change applies to a key's row only when its ``_cdc_seq`` is not lower
        than the row's (late changes never overwrite or delete a newer row).
        """
        from pyspark.sql import functions as F

        keys = list(self.config.primary_key)
        old = None if (full_load and self.config.storage_mode == "current") else self.read_table()
        if old is not None and self._indexed:
            return self._write_touched_partitions(old, changes, run_id)
        if self.config.storage_mode == "current":
            if old is not None:
                # A change older than the table's row (late file) never overwrites or removes it.
                current = old.select(*keys, F.col(SEQ_COLUMN).alias("_cdc_table_seq"))
                changes = (
                    changes.join(current, on=keys, how="left")
                    .filter(F.col("_cdc_table_seq").isNull() | (F.col(SEQ_COLUMN) >= F.col("_cdc_table_seq")))
                    .drop("_cdc_table_seq")
                )
            upserts = changes.filter(F.col(OP_COLUMN) != "D")
            table = upserts
            if old is not None:
                kept = old.join(changes.select(*keys), on=keys, how="left_anti")
                table = kept.unionByName(upserts, allowMissingColumns=True)
        else:
            table = changes
            if old is not None:
                new_rows = changes.join(
                    old.select(*keys, SEQ_COLUMN), on=[*keys, SEQ_COLUMN], how="left_anti"
                )
                table = old.unionByName(new_rows, allowMissingColumns=True)
        return self._write_version(table, run_id)

    def _write_touched_partitions(self, old: DataFrame, changes: DataFrame, run_id: str) -> SinkCommit:
        """Rewrite the partitions ``changes`` touch; clone the others' files into the new version.

        Touched: the partition values of the changes' rows and those the changed keys have now
        (from the key index: a key whose partition value changes leaves its old partition). A
        change older than the key's row (by ``_cdc_seq``) is dropped. Falls back to a whole
        rewrite when the folders Spark read cannot be matched to the listed ones.
        """
        from pyspark.sql import functions as F

        assert self._pointer is not None  # called with the current version's rows
        parts, keys = list(self.config.partition_by), list(self.config.primary_key)
        # the caller's cached change set stays cached (unpersisting the same plan would drop
        # it, and its recomputation would read files retention deletes); else cache it here
        owned = not changes.storageLevel.useMemory and not changes.storageLevel.useDisk
        persisted = changes = changes.persist() if owned else changes
        located: DataFrame | None = None
        try:
            located = self.key_rows(changes.select(*keys))
            assert located is not None
            located = located.persist()
            current = located.select(*keys, F.col(SEQ_COLUMN).alias("_cdc_table_seq"))
            changes = (
                changes.join(current, on=keys, how="left")
                .filter(F.col("_cdc_table_seq").isNull() | (F.col(SEQ_COLUMN) >= F.col("_cdc_table_seq")))
                .drop("_cdc_table_seq")
            )
            values = [
                tuple(r) for r in changes.select(*parts).union(located.select(*parts)).distinct().collect()
            ]
            touched = _partition_predicate(parts, values)
            old_touched = old.filter(touched)  # partition pruning: only the touched folders are read
            per_file = old_touched.groupBy(F.input_file_name().alias(_FILE_COL)).count().collect()
            files = [r[_FILE_COL] for r in per_file]
            base = self.layout.version_uri(self._pointer["version"])
            folders = _partition_folders(base, len(parts))
            rewritten = {_folder_of(f, self._pointer["version"]) for f in files}
            upserts = changes.filter(F.col(OP_COLUMN) != "D")
            if not rewritten <= set(folders):
                log.warning(
                    "%s: partition folders not matched; rewriting the whole table", self.layout.table_id
                )
                kept = old.join(changes.select(*keys), on=keys, how="left_anti")
                return self._write_version(kept.unionByName(upserts, allowMissingColumns=True), run_id)
            kept = old_touched.join(changes.select(*keys), on=keys, how="left_anti")
            table = kept.unionByName(upserts, allowMissingColumns=True)
            share = len(rewritten) / max(1, len(folders))
            cloned = [join_uri(base, folder) for folder in folders if folder not in rewritten]
            return self._write_version(
                table,
                run_id,
                estimate=self.row_count() * share,
                cloned=cloned,
                touched=(sum(r["count"] for r in per_file), self._index_update(changes, upserts)),
            )
        finally:
            if owned:
                persisted.unpersist()
            if located is not None:
                located.unpersist()

    def _index_update(self, changes: DataFrame, upserts: DataFrame) -> tuple[list[int], DataFrame] | None:
        """The changed keys' index buckets and their new rows (kept entries + the upserts'),
        or ``None`` when the current version has no index (it is built whole)."""
        assert self._pointer is not None
        if not self._pointer.get("key_index"):
            return None
        keys, parts = list(self.config.primary_key), list(self.config.partition_by)
        buckets = self._key_buckets(changes.select(*keys))
        root = join_uri(self.layout.table_root, self._pointer["key_index"])
        present = set(list_dir_names(root))
        folders = [join_uri(root, f"{_BUCKET_COL}={b}") for b in buckets if f"{_BUCKET_COL}={b}" in present]
        old = (
            self.spark.read.schema(self._index_schema()).parquet(*folders) if folders else self._empty_index()
        )
        kept = old.join(changes.select(*keys), on=keys, how="left_anti")
        return buckets, kept.unionByName(upserts.select(*keys, *parts, SEQ_COLUMN))

    def _write_version(
        self,
        table: DataFrame,
        run_id: str,
        estimate: float | None = None,
        cloned: list[str] | None = None,
        touched: tuple[int, tuple[list[int], DataFrame] | None] | None = None,
    ) -> SinkCommit:
        """Write ``table`` as the next version (plus the files of the ``cloned`` partition
        folders of the current version), its key index (indexed tables) and move the pointer to
        it. ``touched``: (the rewritten partitions' row count before, the key index update) when
        only those are rewritten: the row count is then computed from them and the rows written
        (counted while writing: no second read)."""
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        version = max([0, *existing_versions(self.layout)]) + 1
        uri = self.layout.version_uri(version)
        partition_by = list(self.config.partition_by)
        files = max(
            1, math.ceil(((self.row_count() if estimate is None else estimate) + 1) / self.rows_per_file)
        )
        observed = Observation()
        table = table.observe(observed, F.count(F.lit(1)).alias("rows"))
        if files == 1:
            table = table.coalesce(1)  # small table: one task writes it (one file per partition), no shuffle
        elif partition_by:
            table = table.repartition(files, *[F.col(f"`{c}`") for c in partition_by])
        else:
            table = table.repartition(files)
        if cloned:
            assert self._pointer is not None
            base = self.layout.version_uri(self._pointer["version"])
            for folder in cloned:
                for name in list_dir_names(folder):
                    if not name.startswith((".", "_")):
                        clone_file(join_uri(folder, name), join_uri(uri, folder[len(base) + 1 :], name))
            # appended after the clones: Spark's _SUCCESS marks the version complete
            table.write.mode("append").partitionBy(*partition_by).parquet(uri)
        else:
            table.write.mode("errorifexists").partitionBy(*partition_by).parquet(uri)
        schema = table.schema
        written = self.spark.read.schema(schema).parquet(uri)
        if touched is None:
            rows_after = written.count()
        else:
            rows_before, _ = touched
            rows_after = self.row_count() - rows_before + int(observed.get["rows"])
        key_index = self._write_index(version, written, touched[1] if touched else None)
        pointer = {
            "format": POINTER_FORMAT,
            "version": version,
            "path": f"versions/v={version}",
            "run_id": run_id,
            "committed_at": utc_now(),
            "row_count": rows_after,
            "storage_mode": self.config.storage_mode,
            "primary_key": list(self.config.primary_key),
            "partition_by": partition_by,
            "columns": [{"name": f.name, "type": f.dataType.simpleString()} for f in schema.fields],
            "spark_schema": schema.json(),
            "arrow_schema": _arrow_schema_b64(schema),
            **({"key_index": key_index} if key_index else {}),
        }
        fault_point("during_table_commit")
        write_json_atomic(self.layout.pointer_uri, pointer)
        self._pointer = pointer
        self._apply_retention(version)
        return SinkCommit(rows_after=rows_after, table_uri=self.table_uri, version=version)

    def _write_index(
        self, version: int, written: DataFrame, update: tuple[list[int], DataFrame] | None
    ) -> str | None:
        """Write the key index of ``version`` (indexed tables); returns its path relative to the
        table root. ``update``: (changed buckets, their new rows): those buckets are written, the
        others cloned from the current index; ``None``: built from the whole new version."""
        if not self._indexed:
            return None
        uri = self._index_uri(version)
        delete(uri, recursive=True)  # a crashed write of this number (its version was partial)
        columns = [*self.config.primary_key, *self.config.partition_by, SEQ_COLUMN]
        if update is None:
            rows = written.select(*columns)
        else:
            assert self._pointer is not None and self._pointer.get("key_index")
            buckets, rows = update
            root = join_uri(self.layout.table_root, self._pointer["key_index"])
            for name in list_dir_names(root):
                if name.startswith(f"{_BUCKET_COL}=") and int(name.split("=", 1)[1]) not in buckets:
                    for file in list_dir_names(join_uri(root, name)):
                        if not file.startswith((".", "_")):
                            clone_file(join_uri(root, name, file), join_uri(uri, name, file))
        frame = rows.withColumn(_BUCKET_COL, self._bucket())
        if update is None:
            frame = frame.repartition(_BUCKET_COL)
        else:
            frame = frame.coalesce(1)
        frame.write.mode("append").partitionBy(_BUCKET_COL).parquet(uri)
        return f"key_index/v={version}"

    def _apply_retention(self, current: int) -> None:
        """Keep the newest ``retention_versions`` complete versions (and the current one);
        delete older ones and every partial version below the current (a killed write:
        no ``_SUCCESS``, ``_temporary`` left), which never count toward retention."""
        versions = existing_versions(self.layout)
        complete = [
            n for n in versions if n == current or exists(join_uri(self.layout.version_uri(n), "_SUCCESS"))
        ]
        keep = set(complete[-self.config.retention_versions :]) | {current}
        for number in versions:
            if number not in keep and number < current:
                delete(self._index_uri(number), recursive=True)  # first: never an index without its version
                delete(self.layout.version_uri(number), recursive=True)
                fault_point("during_retention")
                log.info(
                    "deleted version %s of %s (retention %s)",
                    number,
                    self.layout.table_id,
                    self.config.retention_versions,
                )


def _partition_predicate(columns: list[str], values: list[tuple[Any, ...]]) -> Column:
    """Rows whose partition columns equal one of ``values`` (NULL-safe): prunes partitions."""
    from pyspark.sql import functions as F

    predicate = F.lit(False)
    for value in values:
        match = F.lit(True)
        for column, item in zip(columns, value, strict=True):
            match = match & F.col(f"`{column}`").eqNullSafe(F.lit(item))
        predicate = predicate | match
    return predicate


def _partition_folders(version_uri: str, depth: int) -> list[str]:
    """Leaf partition folders (``a=1/b=x``) of a version, relative to it (hidden names skipped)."""
    folders = [""]
    for _ in range(depth):
        folders = [
            f"{folder}/{name}".lstrip("/")
            for folder in folders
            for name in list_dir_names(join_uri(version_uri, folder) if folder else version_uri)
            if "=" in name and not name.startswith((".", "_"))
        ]
    return folders


def _folder_of(file_uri: str, version: int) -> str:
    """The partition folder (relative to its version) of a file Spark reported read."""
    from urllib.parse import unquote

    relative = unquote(file_uri).rsplit(f"/versions/v={version}/", 1)[-1]
    return relative.rsplit("/", 1)[0]
