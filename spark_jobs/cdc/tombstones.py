"""Tombstones: the deleted keys of a ``current`` table with their delete's ``_cdc_seq``.

A delete removes the row from the table (both sinks), so without a trace a late update or
insert older than the delete (a DMS file that lands after the delete was merged) would
re-insert the key. The tombstone keeps the delete's ordering value: a change of a deleted key
older than its tombstone is late and never applied; a newer one (a real re-insert) applies
and removes the tombstone. The same rule holds in the warehouse load
(:mod:`data_platform.warehouse.merge`, tombstone table ``<table>__tombstones``).

Layout: ``tombstones/v=<n>/*.parquet`` (primary key columns + ``_cdc_seq``) and the pointer
``tombstones/_current.json`` (``{"version", "run_id", "row_count"}``), replaced atomically.
A version is written after the table version of the same commit; both are re-applied from
the prepared commit after a crash (idempotent), see :mod:`spark_jobs.cdc.merge`. A full load
starts over from the full load's own deletes (the source's state replaces the table's).
Tombstones are kept for good: DMS gives no bound on how late a file can land.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.table_config import OP_COLUMN, SEQ_COLUMN, TableConfig
from spark_jobs.common.lake import delete, join_uri, list_dir_names, read_json, write_json_atomic

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class TombstoneStore:
    """The tombstones of one ``current``-mode table."""

    def __init__(self, spark: SparkSession, layout: TableLayout, config: TableConfig) -> None:
        self.spark = spark
        self.layout = layout
        self.keys = list(config.primary_key)

    @property
    def pointer_uri(self) -> str:
        return join_uri(self.layout.tombstones_root, "_current.json")

    def _version_uri(self, version: int) -> str:
        return join_uri(self.layout.tombstones_root, f"v={version}")

    def _versions(self) -> list[int]:
        names = list_dir_names(self.layout.tombstones_root)
        return sorted(int(n[2:]) for n in names if n.startswith("v=") and n[2:].isdigit())

    def pointer(self) -> dict[str, Any] | None:
        return read_json(self.pointer_uri)

    def read(self) -> DataFrame | None:
        """Primary key columns + ``_cdc_seq`` of every deleted key; ``None`` when there are none."""
        pointer = self.pointer()
        if pointer is None or not pointer["row_count"]:
            return None
        return self.spark.read.parquet(self._version_uri(pointer["version"]))

    def update(self, changes: DataFrame, *, full_load: bool, run_id: str) -> int:
        """Apply a change set (output-shaped rows, late changes already dropped): its deletes
        become tombstones, its upserts remove theirs. Returns the tombstone count.

        Idempotent (re-applying a change set gives the same tombstones), so a crashed commit
        re-applies it. Writes nothing when there were no tombstones and the set has no delete.
        """
        from pyspark.sql import functions as F

        old = None if full_load else self.read()
        deletes = changes.filter(F.col(OP_COLUMN) == "D").select(*self.keys, SEQ_COLUMN)
        if old is None and not deletes.take(1):
            if self.pointer() is not None and full_load:
                self._commit(self.spark.createDataFrame([], deletes.schema), run_id)
            return 0
        tombstones = deletes
        if old is not None:
            kept = old.join(changes.select(*self.keys), on=self.keys, how="left_anti")
            tombstones = kept.unionByName(deletes)
        return self._commit(tombstones, run_id)

    def _commit(self, tombstones: DataFrame, run_id: str) -> int:
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        version = max([0, *self._versions()]) + 1
        uri = self._version_uri(version)
        written = Observation()  # counted while writing: no second read of the files
        tombstones.observe(written, F.count(F.lit(1)).alias("rows")).coalesce(1).write.mode(
            "overwrite"
        ).parquet(uri)
        count = int(written.get["rows"])
        write_json_atomic(self.pointer_uri, {"version": version, "run_id": run_id, "row_count": count})
        for number in self._versions():
            if number < version:
                delete(self._version_uri(number), recursive=True)
        return count
