"""Merge new DMS files into lake tables: the in-process API of the CDC merge job.

Per table: take the lock, find pending files, inspect and read them, check schema drift,
split off bad rows, reduce to the net change per key, write the change set and the table,
then mark the files processed and release the lock. A table's failure never stops the other
tables of the batch; every table gets a result (see :mod:`spark_jobs.cdc.results`).

Commit protocol (any crash point converges; fault points of :mod:`spark_jobs.cdc.faults`):

1. change set -> ``changes/run=<run_id>/``, then the prepared commit ``commit.json`` (files,
   schema, result). A crash before ``commit.json`` leaves an unused change set: the next run
   recomputes it (the table is unchanged).
2. table version (one snapshot pointer replace / one Hudi commit), retention after it, then
   the tombstones (:mod:`spark_jobs.cdc.tombstones`).
3. ``state.json`` (files processed + the result), ``history/<run_id>.json``, then
   ``commit.json`` is removed; then the lock is released.

A run that finds ``commit.json`` (under the lock, before anything else) re-applies its change
set to the table and the tombstones (idempotent: the sinks keep the newer row by ``_cdc_seq``,
a change set's tombstones replace those of its keys) and commits the
state from it, so the change set is never recomputed against a table that already holds it.
A retry of the same run id returns that result; another run carries the change set into its
own (or, with no new files of its own, its result names the crashed run's change set), so the
warehouse gets it either way.

A change the table holds already (same key and ``_cdc_seq``, i.e. the same file and row: files
landed again are pending again) is never applied or written to a change set a second time, so
a rerun or backfill over files landed again writes no change set and no table version.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spark_jobs.cdc.dms_files import FULL_LOAD, LandedFile, list_landed_files
from spark_jobs.cdc.faults import fault_point
from spark_jobs.cdc.file_inspection import FileProblem, inspect_files
from spark_jobs.cdc.layout import TableLayout, landing_table_uri
from spark_jobs.cdc.net_change import (
    APPLIED_OP,
    LATE_OP,
    TOMBSTONE_OP,
    OrderingTypeError,
    classify_net_change,
    history_rows,
    latest_per_key,
    mark_applied,
    output_frame,
    sequence_column,
)
from spark_jobs.cdc.quarantine import bad_row_example, quarantine_files, rows_uri, write_reason
from spark_jobs.cdc.reader import ERROR_COL, FILE_COL, SRC_OP_COL, combine_groups, read_groups
from spark_jobs.cdc.results import (
    BAD_ROWS,
    INTERNAL_ERROR,
    ORDERING_COLUMN,
    SCHEMA_DRIFT,
    STATUS_FAILED,
    STATUS_LOCKED,
    STATUS_NOOP,
    STATUS_OK,
    CdcInputError,
    TableResult,
    utc_now,
)
from spark_jobs.cdc.schema_drift import check_drift
from spark_jobs.cdc.sinks import HiveSync, SinkChoice, TableSink, select_sink
from spark_jobs.cdc.sinks.snapshot import ROWS_PER_FILE
from spark_jobs.cdc.table_config import OP_COLUMN, SEQ_COLUMN, TableConfig
from spark_jobs.cdc.tombstones import TombstoneStore
from spark_jobs.cdc.tracker import FileTracker, TableState
from spark_jobs.common.lake import exists
from spark_jobs.common.lineage import LineageDataset, LineageEmitter
from spark_jobs.common.lock import DEFAULT_TTL_SECONDS, LakeLock, Lease, LeaseHeartbeat
from spark_jobs.common.logs import log_event

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MergeSettings:
    """Run-wide settings of a merge (the job's arguments)."""

    landing_root: str
    lake_root: str
    run_id: str
    sink: SinkChoice = "auto"
    hive_sync: HiveSync | None = None
    lock_ttl_seconds: float = DEFAULT_TTL_SECONDS
    lock_owner: str | None = None
    rows_per_file: int = ROWS_PER_FILE
    lineage: LineageEmitter | None = field(default=None, compare=False)


def _problems_error(problems: list[FileProblem]) -> CdcInputError:
    lines = [f"{p.file.rel_path}: {p.reason}" for p in problems]
    return CdcInputError(
        problems[0].kind,
        f"{len(problems)} file(s) cannot be processed: " + "; ".join(lines),
        files=[p.file.rel_path for p in problems],
        details={
            "problems": [{"file": p.file.rel_path, "kind": p.kind, "reason": p.reason} for p in problems]
        },
    )


def _quarantine_input_error(
    layout: TableLayout, run_id: str, error: CdcInputError, files: list[LandedFile]
) -> str:
    quarantine_files(layout, run_id, files)
    return write_reason(layout, run_id, error.to_dict())


def _sink(
    spark: SparkSession, layout: TableLayout, config: TableConfig, settings: MergeSettings
) -> TableSink:
    return select_sink(spark, layout, config, settings.sink, settings.hive_sync, settings.rows_per_file)


class _TableMerge:
    """One table's merge while its lock is held."""

    def __init__(
        self,
        spark: SparkSession,
        config: TableConfig,
        settings: MergeSettings,
        result: TableResult,
        fence: Callable[[], None] = lambda: None,
    ) -> None:
        self.spark = spark
        self.config = config
        self.settings = settings
        self.result = result
        self.layout = TableLayout(settings.lake_root, config.database, config.table)
        self.tracker = FileTracker(self.layout)
        self.fence = fence
        """Raises when the lock was lost; called before every write to the table or state."""
        self.carried: TableResult | None = None
        """A crashed other run's committed change set that this run's change set must carry."""
        self.ordering_widths: dict[str, int] | None = None
        """The table's text ordering widths after this batch (``None``: unchanged)."""
        self.landed_again: list[LandedFile] = []
        """Processed files rewritten with the same bytes: not read, their new fingerprint recorded."""
        self._persisted: list[DataFrame] = []

    def _persist(self, frame: DataFrame) -> DataFrame:
        from pyspark import StorageLevel

        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        self._persisted.append(frame)
        return frame

    def release(self) -> None:
        for frame in self._persisted:
            frame.unpersist()

    def _finish_prepared(self, state: TableState) -> TableState:
        """Finish the prepared commit of a crashed run (see the module docstring)."""
        prepared = self.tracker.prepared()
        if prepared is None:
            return state
        files, schema, result = prepared
        if result.run_id not in state.recent_results:
            self.fence()
            sink = _sink(self.spark, self.layout, self.config, self.settings)
            if result.changes_uri is not None:
                changes = self.spark.read.parquet(result.changes_uri)
                commit = sink.write(changes, full_load=result.full_load, run_id=result.run_id)
                self._update_tombstones(changes, result)
                result.version, result.rows_after = commit.version, commit.rows_after
            result.status, result.finished_at = STATUS_OK, utc_now()
            result.warnings.append(f"committed by run {self.settings.run_id!r} after this run crashed")
            widths = self.tracker.prepared_ordering_widths()
            state = self.tracker.commit(state, files, schema, result, widths)
            log.warning(
                "%s: finished the prepared commit of crashed run %s", self.layout.table_id, result.run_id
            )
            if result.run_id != self.settings.run_id and result.changes_uri is not None:
                self.carried = result
        self.tracker.clear_prepared()
        return state

    def run(self) -> TableResult:
        state = self._finish_prepared(self.tracker.load_state())
        committed = self.tracker.committed_result(state, self.settings.run_id)
        if committed is not None:
            committed.reused = True
            return committed
        result = self.result
        landed, ignored = list_landed_files(
            landing_table_uri(self.settings.landing_root, self.config.landing_folder)
        )
        result.ignored_files = ignored
        if ignored:
            result.warnings.append(
                f"{len(ignored)} object(s) in the landing folder match no DMS file name and were not "
                f"read: {', '.join(ignored[:5])}{' ...' if len(ignored) > 5 else ''}"
            )
        pending, self.landed_again = self.tracker.split_landed(state, landed)
        if self.landed_again:
            names = [f.rel_path for f in self.landed_again]
            result.warnings.append(
                f"{len(names)} processed file(s) landed again with the same bytes (same size and "
                f"digest, new ETag/mtime) were not processed again: {', '.join(names[:5])}"
                f"{' ...' if len(names) > 5 else ''}"
            )
        if not pending and self.carried is not None:
            return self._carry_only(state)
        if not pending:
            if self.landed_again:
                self.fence()
                self.tracker.mark_landed_again(state, self.landed_again)
            result.status = STATUS_NOOP
            return result
        pending = self.tracker.with_digests(pending)
        result.files = [f.rel_path for f in pending]
        result.full_load = any(f.kind == FULL_LOAD for f in pending)
        sink = _sink(self.spark, self.layout, self.config, self.settings)
        result.sink, result.table_uri = sink.name, sink.table_uri

        read = self._read_checked(state, pending)
        if read is None:
            result.warnings.append("all pending files are empty")
            return self._commit(
                state, pending, state.schema, sink_written=False, rows_before=sink.row_count()
            )
        schema, rows, raw_rows = read
        self._split_bad_rows(rows, raw_rows)
        return self._apply(state, pending, schema, sink, rows.filter(rows[ERROR_COL].isNull()))

    def _read_checked(
        self, state: TableState, pending: list[LandedFile]
    ) -> tuple[list[tuple[str, str]], DataFrame, DataFrame] | None:
        """(table schema, change rows, raw rows) of the pending files; ``None`` if all are empty.

        Unreadable files, wrong formats, missing columns and incompatible schema drift raise
        :class:`CdcInputError` after the offending files were copied to quarantine.
        """
        result = self.result
        shapes, problems = inspect_files(pending, self.config)
        if problems:
            error = _problems_error(problems)
            result.quarantine_uri = _quarantine_input_error(
                self.layout, result.run_id, error, [p.file for p in problems]
            )
            raise error
        readable = [s for s in shapes if not s.empty]
        if not readable:
            return None
        groups = read_groups(self.spark, self.config, readable)
        previous = [(c["name"], c["type"]) for c in state.schema] if state.schema is not None else None
        drift = check_drift(previous, [([s.file.rel_path for s in g.shapes], g.data_types) for g in groups])
        if drift.problems:
            error = CdcInputError(
                SCHEMA_DRIFT,
                "schema drift against the last successful load: "
                + "; ".join(f"{', '.join(files)}: {reason}" for files, reason in drift.problems),
                files=sorted({f for files, _ in drift.problems for f in files}),
                details={"previous_schema": previous},
            )
            drifted = [s.file for g in groups for s in g.shapes if s.file.rel_path in error.files]
            result.quarantine_uri = _quarantine_input_error(self.layout, result.run_id, error, drifted)
            raise error
        if drift.added:
            result.schema_changes = {"added": [{"name": n, "type": t} for n, t in drift.added]}
            result.warnings.append(
                f"compatible schema change applied: added columns {[n for n, _ in drift.added]}"
            )
        inputs = combine_groups(groups)
        schema = [*previous, *drift.added] if previous is not None else inputs.data_columns
        try:
            sequence = sequence_column(self.config, dict(schema))
        except OrderingTypeError as exc:
            raise CdcInputError(ORDERING_COLUMN, str(exc), files=[f.rel_path for f in pending]) from None
        rows = self._persist(inputs.rows.withColumn(SEQ_COLUMN, sequence))
        full_load = any(f.kind == FULL_LOAD for f in pending)
        known = {} if full_load else state.ordering_widths  # a full load rebuilds the table
        widths = self._check_text_ordering(rows, dict(schema), [f.rel_path for f in pending], known)
        self.ordering_widths = {**known, **widths}
        return schema, rows, inputs.raw_rows

    def _check_text_ordering(
        self, rows: DataFrame, types: dict[str, str], files: list[str], known: dict[str, int]
    ) -> dict[str, int]:
        """Text ordering columns must be fixed-width sequences (DMS timestamps and change
        sequences are); otherwise text order is not value order ('9' sorts after '10'). The
        width holds within the batch and against the table's (``known``, from its state).
        Returns the batch's width per text ordering column that has values."""
        from pyspark.sql import functions as F

        text = [c for c in self.config.ordering_columns if types.get(c) == "string"]
        if not text:
            return {}
        aggregates = []
        for name in text:
            column = F.col(f"`{name}`")
            aggregates += [F.min(F.length(column)), F.max(F.length(column)), F.min(column), F.max(column)]
        widths = rows.filter(rows[ERROR_COL].isNull()).agg(*aggregates).first()
        assert widths is not None  # an aggregate without grouping always returns one row
        for index, name in enumerate(text):
            shortest, longest, low, high = widths[4 * index : 4 * index + 4]
            if shortest != longest:
                raise CdcInputError(
                    ORDERING_COLUMN,
                    f"ordering column {name!r} is text of varying width (e.g. {low!r}, {high!r}), so "
                    f"text order is not value order; give it a type in the table config (columns: "
                    f"[{{name: {name}, type: bigint}}] or timestamp)",
                    files=files,
                )
            if shortest is not None and known.get(name, shortest) != shortest:
                raise CdcInputError(
                    ORDERING_COLUMN,
                    f"{self.config.table_id}: ordering column {name!r} is text of width {shortest} in "
                    f"these files (e.g. {low!r}) but of width {known[name]} in the table (its state), "
                    "so text order is not value order across the batches. Fix: have the source "
                    f"write {name} at width {known[name]} again, or reload the table with a DMS full "
                    "load (it is rebuilt and takes the new width); files stay pending until then",
                    files=files,
                    details={"column": name, "table_width": known[name], "file_width": shortest},
                )
        return {
            name: widths[4 * index]
            for index, name in enumerate(text)
            if widths[4 * index] is not None
        }

    def _split_bad_rows(self, rows: DataFrame, raw_rows: DataFrame) -> None:
        """Count rows by operation and error; quarantine bad rows; fail the table if configured."""
        from pyspark.sql import functions as F

        stats = (
            rows.groupBy(SRC_OP_COL, ERROR_COL, F.col(FILE_COL).isNull().alias("unmapped")).count().collect()
        )
        if any(r["unmapped"] for r in stats):
            raise RuntimeError(
                "rows could not be matched to their landing files (Spark reported unknown file paths)"
            )
        errors: dict[str, int] = {}
        for r in stats:
            if r[ERROR_COL] is not None:
                errors[r[ERROR_COL]] = errors.get(r[ERROR_COL], 0) + r["count"]
            else:
                self.result.changes_read[r[SRC_OP_COL]] = (
                    self.result.changes_read.get(r[SRC_OP_COL], 0) + r["count"]
                )
        if not errors:
            return
        bad = raw_rows.filter(F.col(ERROR_COL).isNotNull())
        bad_files = sorted(r[FILE_COL] for r in bad.select(FILE_COL).distinct().collect())
        bad.coalesce(1).write.mode("overwrite").parquet(rows_uri(self.layout, self.result.run_id))
        total = sum(errors.values())
        kinds: dict[str, int] = {}
        for reason, count in errors.items():
            kind = reason.split(":", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + count
        summary = ", ".join(
            f"{count} x {reason} (e.g. {bad_row_example(bad, reason, self.config.primary_key)})"
            for reason, count in sorted(errors.items())
        )
        error = CdcInputError(
            BAD_ROWS if len(kinds) > 1 else next(iter(kinds)),
            f"{total} bad row(s) in {len(bad_files)} file(s): {summary}",
            files=bad_files,
            details={"row_errors": kinds, "reasons": errors, "policy": self.config.bad_rows},
        )
        self.result.quarantine_uri = write_reason(
            self.layout, self.result.run_id, error.to_dict(), rows=total
        )
        self.result.quarantined_rows = total
        if self.config.bad_rows == "fail":
            raise error
        self.result.warnings.append(
            f"{error.message}; quarantined at {self.result.quarantine_uri} (bad_rows: quarantine)"
        )

    def _apply(
        self,
        state: TableState,
        pending: list[LandedFile],
        schema: list[tuple[str, str]],
        sink: TableSink,
        valid: DataFrame,
    ) -> TableResult:
        from pyspark.sql import functions as F

        result = self.result
        columns = [name for name, _ in schema]
        if self.config.storage_mode == "current":
            net = latest_per_key(valid, self.config)
            fresh = result.full_load or not sink.exists()
            existing = None if fresh else sink.key_rows(net.select(*self.config.primary_key))
            tombstones = None if fresh else self._tombstones().read()
            changes = classify_net_change(net, existing, self.config, tombstones)
        else:
            changes = history_rows(valid)
            if sink.exists():
                held = sink.key_rows(valid.select(*self.config.primary_key))
                changes = mark_applied(changes, held, self.config)
        changes = self._persist(output_frame(changes, columns))
        if self.config.storage_mode == "current" and result.full_load and self._table_holds(sink, changes):
            result.warnings.append(
                "every row of the full load is in the table already (its files were landed again); "
                "the table was not rebuilt"
            )
            return self._commit(
                state,
                pending,
                [{"name": n, "type": t} for n, t in schema],
                sink_written=False,
                rows_before=sink.row_count(),
            )
        counts = {r[OP_COLUMN]: r["count"] for r in changes.groupBy(OP_COLUMN).count().collect()}
        applied = counts.pop(APPLIED_OP, 0)
        if applied:
            changes = changes.filter(changes[OP_COLUMN] != APPLIED_OP)
            result.warnings.append(
                f"{applied} change(s) the table holds already (same key and {SEQ_COLUMN}: the same "
                "file and row, landed again) were not applied again"
            )
            if result.full_load and changes.filter(F.col(SEQ_COLUMN).startswith("0|")).isEmpty():
                # a historical table's full load applied before: what is new are change rows,
                # appended (a full load's change set replaces the warehouse table)
                result.full_load = False
        late = counts.pop(LATE_OP, 0)
        if late:
            changes = changes.filter(changes[OP_COLUMN] != LATE_OP)
            result.warnings.append(
                f"{late} late change(s) older than the table's row or the key's delete (by "
                f"{SEQ_COLUMN}) were not applied"
            )
        tombstone_only = counts.pop(TOMBSTONE_OP, 0)
        if tombstone_only and result.full_load:
            # a full load's change set is the whole table (the warehouse loads it as a snapshot):
            # it holds no deletes, and its tombstones start empty
            changes = changes.filter(changes[OP_COLUMN] != TOMBSTONE_OP)
            tombstone_only = 0
        elif tombstone_only:
            # deletes of keys the table does not hold: nothing to remove, but they are tombstones
            # (and reach the warehouse as deletes, which keeps the same tombstones)
            changes = changes.withColumn(
                OP_COLUMN,
                F.when(changes[OP_COLUMN] == TOMBSTONE_OP, F.lit("D")).otherwise(changes[OP_COLUMN]),
            )
        result.inserted, result.updated, result.deleted = (
            counts.get("I", 0),
            counts.get("U", 0),
            counts.get("D", 0),
        )
        if self.carried is not None:
            changes = self._persist(self._with_carried(changes))
            counts = {r[OP_COLUMN]: r["count"] for r in changes.groupBy(OP_COLUMN).count().collect()}
            result.inserted, result.updated, result.deleted = (counts.get(op, 0) for op in ("I", "U", "D"))
        rows_before = sink.row_count()
        total = sum(counts.values()) + tombstone_only
        if total == 0 and not result.full_load:
            result.warnings.append("the new files hold no net change; the table was not rewritten")
            return self._commit(
                state,
                pending,
                [{"name": n, "type": t} for n, t in schema],
                sink_written=False,
                rows_before=rows_before,
            )
        changes_uri = self.layout.changes_uri(result.run_id)
        files = max(1, math.ceil(total / self.settings.rows_per_file))
        changes.coalesce(files).write.mode("overwrite").parquet(changes_uri)
        fault_point("after_change_set")
        result.changes_uri = changes_uri
        result.rows_before = rows_before
        self.fence()
        schema_dicts = [{"name": n, "type": t} for n, t in schema]
        self.tracker.prepare(pending, schema_dicts, result, self.ordering_widths)
        fault_point("after_prepare")
        commit = sink.write(changes, full_load=result.full_load, run_id=result.run_id)
        fault_point("after_table_version")
        self._update_tombstones(changes, result)
        result.version, result.rows_after = commit.version, commit.rows_after
        return self._commit(
            state,
            pending,
            [{"name": n, "type": t} for n, t in schema],
            sink_written=True,
            rows_before=rows_before,
        )

    def _table_holds(self, sink: TableSink, changes: DataFrame) -> bool:
        """Whether a ``current`` table holds every row of a full load's ``changes`` (same key and
        ``_cdc_seq``: the same file rows, so the load was applied before and its files landed
        again). All or nothing: a full load that brings anything new rebuilds the table."""
        from pyspark.sql import functions as F

        table = sink.read_table() if sink.exists() else None
        rows = changes.filter(F.col(OP_COLUMN) != TOMBSTONE_OP)
        if table is None or rows.isEmpty():
            return False
        keys = [F.col(f"`{k}`") for k in [*self.config.primary_key, SEQ_COLUMN]]
        return rows.select(*keys).exceptAll(table.select(*keys)).isEmpty()

    def _tombstones(self) -> TombstoneStore:
        return TombstoneStore(self.spark, self.layout, self.config)

    def _update_tombstones(self, changes: DataFrame, result: TableResult) -> None:
        """The deleted keys after this change set (``current`` tables; after the table version:
        a crash in between re-applies both from the prepared commit)."""
        if self.config.storage_mode == "current":
            self.fence()
            self._tombstones().update(changes, full_load=result.full_load, run_id=result.run_id)

    def _commit(
        self,
        state: TableState,
        pending: list[LandedFile],
        schema: list[dict[str, str]] | None,
        *,
        sink_written: bool,
        rows_before: int,
    ) -> TableResult:
        result = self.result
        result.rows_before = rows_before
        if not sink_written:
            result.rows_after = rows_before
        result.status = STATUS_OK
        result.finished_at = utc_now()
        self.fence()
        self.tracker.commit(state, pending, schema, result, self.ordering_widths, self.landed_again)
        fault_point("after_tracker")
        self.tracker.clear_prepared()
        return result

    def _with_carried(self, changes: DataFrame) -> DataFrame:
        """This run's change set plus the carried run's changes of keys this run did not change."""
        assert self.carried is not None and self.carried.changes_uri is not None
        carried = self.spark.read.parquet(self.carried.changes_uri)
        keys = list(self.config.primary_key)
        if self.config.storage_mode == "historical":
            return changes.unionByName(carried, allowMissingColumns=True).dropDuplicates([*keys, SEQ_COLUMN])
        older = carried.join(changes.select(*keys), on=keys, how="left_anti")
        return changes.unionByName(older, allowMissingColumns=True)

    def _carry_only(self, state: TableState) -> TableResult:
        """No new files, but a crashed run's change set to carry: this run's result names it (its
        load loads it), not a copy: a run without new files writes no change rows to the lake."""
        carried, result = self.carried, self.result
        assert carried is not None and carried.changes_uri is not None
        result.changes_uri = carried.changes_uri
        result.full_load = carried.full_load
        result.sink, result.table_uri = carried.sink, carried.table_uri
        result.inserted, result.updated, result.deleted = carried.inserted, carried.updated, carried.deleted
        result.rows_after = carried.rows_after
        result.warnings.append(f"carries the change set of crashed run {carried.run_id!r}")
        return self._commit(state, [], state.schema, sink_written=True, rows_before=carried.rows_before or 0)


def _internal_error(exc: Exception) -> dict[str, Any]:
    return {
        "kind": INTERNAL_ERROR,
        "message": f"{type(exc).__name__}: {exc}"[:4000],
        "files": [],
        "details": {},
    }


def _merge_under_lock(
    spark: SparkSession,
    config: TableConfig,
    settings: MergeSettings,
    layout: TableLayout,
    result: TableResult,
) -> TableResult:
    lock = _table_lock(layout, settings)
    lease: Lease | None = lock.acquire(settings.run_id)
    if lease is None:
        holder = lock.holder() or {}
        result.status = STATUS_LOCKED
        result.error = {
            "kind": "locked",
            "message": f"{config.table_id} is being processed by run {holder.get('run_id')!r} "
            f"(owner {holder.get('owner')!r}, until {holder.get('expires_at_iso')}); files stay pending",
            "files": [],
            "details": {"holder": holder},
        }
        return result
    if lease.taken_over_from:
        result.warnings.append(f"took over the expired lock of run {lease.taken_over_from.get('run_id')!r}")
    merge = _TableMerge(spark, config, settings, result, fence=lambda: lock.check(lease))
    try:
        with LeaseHeartbeat(lock, lease):
            return merge.run()
    except CdcInputError as exc:
        result.status, result.error = STATUS_FAILED, exc.to_dict()
    finally:
        merge.release()
        fault_point("before_lock_release")
        lock.release(lease)
    return result


def _table_lock(layout: TableLayout, settings: MergeSettings) -> LakeLock:
    """The table's lock; a task retry (same Airflow run id) takes over its dead try's lease."""
    return LakeLock(
        layout.lock_root,
        owner=settings.lock_owner,
        ttl_seconds=settings.lock_ttl_seconds,
        retries_take_over=True,
    )


def _refresh_superseded(
    spark: SparkSession,
    config: TableConfig,
    settings: MergeSettings,
    layout: TableLayout,
    result: TableResult,
) -> TableResult:
    """A reused result of a run that later runs superseded (a clear or backfill of an old run):
    its change set would move the warehouse back in time (deleted rows return). Instead the
    load gets the CURRENT lake state of the keys it changed: their rows (with their
    ``_cdc_seq``), and for each key the table no longer has a delete with its tombstone's
    ``_cdc_seq`` (a key gone without a tombstone went with a full load, which replaced the
    warehouse table too); ``rows_after`` becomes the current row count."""
    from pyspark.sql import functions as F

    state = FileTracker(layout).load_state()
    if (
        state.last_run_id in (None, result.run_id)
        or result.changes_uri is None
        or config.storage_mode != "current"
    ):
        return result
    sink = _sink(spark, layout, config, settings)
    table = sink.read_table()
    changes = spark.read.parquet(result.changes_uri)
    keys = list(config.primary_key)
    touched = changes.select(*keys).distinct()
    refresh = changes.limit(0)
    if table is not None:
        present = table.join(touched, on=keys, how="left_semi").withColumn(OP_COLUMN, F.lit("U"))
        refresh = refresh.unionByName(present, allowMissingColumns=True)
    tombstones = TombstoneStore(spark, layout, config).read()
    if tombstones is not None:
        gone = tombstones.join(touched, on=keys, how="left_semi").withColumn(OP_COLUMN, F.lit("D"))
        refresh = refresh.unionByName(gone, allowMissingColumns=True)
    refresh = refresh.select(*[F.col(f"`{c}`").cast(changes.schema[c].dataType) for c in changes.columns])
    uri = layout.refresh_uri(result.run_id)
    refresh.coalesce(1).write.mode("overwrite").parquet(uri)
    result.changes_uri, result.rows_after = uri, sink.row_count()
    result.warnings.append(
        f"superseded by run {state.last_run_id!r}: the load gets the current lake rows of this run's keys"
    )
    return result


def _release_own_dead_lease(layout: TableLayout, settings: MergeSettings) -> None:
    """A retry that reuses its committed result frees the lease its killed try left behind,
    so the next run does not wait for the lease to expire."""
    lock = _table_lock(layout, settings)
    holder = lock.holder()
    if holder is not None and holder.get("run_id") == settings.run_id and holder.get("owner") != lock.owner:
        lease = lock.acquire(settings.run_id)
        if lease is not None:
            lock.release(lease)


def _reused_result(tracker: FileTracker, run_id: str) -> TableResult | None:
    """The committed result of ``run_id`` (a retry after the commit): no lock needed."""
    if exists(tracker.layout.commit_intent_uri):
        return None  # a prepared commit is pending: finish it under the lock first
    committed = tracker.committed_result(tracker.load_state(), run_id)
    if committed is not None:
        committed.reused = True
    return committed


def _with_column_lineage(
    datasets: tuple[list[LineageDataset], list[LineageDataset]], layout: TableLayout
) -> tuple[list[LineageDataset], list[LineageDataset]]:
    """The lake table's columns (the committed schema) copied from the DMS files' same columns:
    the agent sees the files read by path, not which file column became which table column."""
    schema = FileTracker(layout).load_state().schema or []
    inputs, outputs = datasets
    columns = [(c["name"], c["type"]) for c in schema]
    return inputs, [d.copied_from(inputs, columns) for d in outputs]


def merge_table(spark: SparkSession, config: TableConfig, settings: MergeSettings) -> TableResult:
    """Merge one table's pending files. Table-level problems never raise: they are in the
    result (also written to the table's history); only an unusable lake raises."""
    layout = TableLayout(settings.lake_root, config.database, config.table)
    result = TableResult(
        table_id=config.table_id,
        run_id=settings.run_id,
        status=STATUS_FAILED,
        started_at=utc_now(),
        storage_mode=config.storage_mode,
    )
    job_name = f"cdc_merge.{config.table_id}"
    datasets = (
        [LineageDataset.from_uri(landing_table_uri(settings.landing_root, config.landing_folder))],
        [LineageDataset.from_uri(layout.table_root)],
    )
    if settings.lineage:
        settings.lineage.emit("START", job_name, settings.run_id, *datasets)
    tracker = FileTracker(layout)
    try:
        result = _reused_result(tracker, settings.run_id) or _merge_under_lock(
            spark, config, settings, layout, result
        )
    except Exception as exc:  # noqa: BLE001 - one table's failure must not stop the batch
        log.exception("merge of %s failed", config.table_id)
        result.status, result.error = STATUS_FAILED, _internal_error(exc)
    if result.status != STATUS_OK:
        result.finished_at = result.finished_at or utc_now()
        tracker.record(result)
    elif result.reused:
        _release_own_dead_lease(layout, settings)
        result = _refresh_superseded(spark, config, settings, layout, result)
        tracker.record(result)
    if settings.lineage:
        event = {STATUS_OK: "COMPLETE", STATUS_NOOP: "COMPLETE", STATUS_LOCKED: "ABORT"}.get(
            result.status, "FAIL"
        )
        error = (result.error or {}).get("message") if result.status == STATUS_FAILED else None
        if event == "COMPLETE":
            datasets = _with_column_lineage(datasets, layout)
        settings.lineage.emit(event, job_name, settings.run_id, *datasets, error_message=error)
    log_event(
        log,
        f"{config.table_id}: {result.status}",
        table_id=config.table_id,
        run_id=settings.run_id,
        status=result.status,
        files=len(result.files),
        inserted=result.inserted,
        updated=result.updated,
        deleted=result.deleted,
        rows_after=result.rows_after,
        error_kind=(result.error or {}).get("kind"),
    )
    return result


def merge_tables(
    spark: SparkSession, configs: list[TableConfig], settings: MergeSettings
) -> list[TableResult]:
    """Merge a batch of tables one after the other; each gets its own result."""
    return [merge_table(spark, config, settings) for config in configs]
