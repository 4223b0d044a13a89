"""Which DMS files of a table are new, and the table's processing history, kept in the lake.

``state.json`` is the commit record: it lists every processed landing file (path, size,
fingerprint, run id), the schema of the last successful load and the results of the most
recent committed runs. It is replaced atomically and only after the table write committed,
so a crash before that leaves the files pending and the next run applies them again (the
writes are idempotent: upserts by key, history rows deduplicated by key + sequence).

``history/<run_id>.json`` holds every run's result (ok, noop, locked, failed).

``commit.json`` is the prepared commit: the files, schema and result (with its change set)
of a run whose table write may have happened but whose ``state.json`` was not written yet.
The next run under the lock finishes it (see ``spark_jobs.cdc.merge``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from spark_jobs.cdc.dms_files import LandedFile
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.results import STATUS_OK, TableResult, utc_now
from spark_jobs.common.lake import delete, list_files, read_json, write_json_atomic

STATE_FORMAT = 1
RECENT_RESULTS_KEPT = 20


@dataclass
class TableState:
    """The committed state of one CDC table."""

    table_id: str
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Landing path -> {"fingerprint", "size", "run_id"}."""
    schema: list[dict[str, str]] | None = None
    """Data columns of the last successful load: [{"name", "type"}] (Spark SQL types)."""
    loads: int = 0
    last_run_id: str | None = None
    last_success_at: str | None = None
    recent_results: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Results of the last committed runs by run id (a retry with the same id reuses them)."""
    ordering_widths: dict[str, int] = field(default_factory=dict)
    """Text ordering column -> the width of its values in the table: text orders like its values
    only at one fixed width, across batches too (``spark_jobs.cdc.merge``)."""
    format: int = STATE_FORMAT

    def schema_map(self) -> dict[str, str] | None:
        if self.schema is None:
            return None
        return {c["name"]: c["type"] for c in self.schema}


class FileTracker:
    """Reads and commits a table's state; finds pending files."""

    def __init__(self, layout: TableLayout) -> None:
        self.layout = layout

    def load_state(self) -> TableState:
        data = read_json(self.layout.state_uri)
        if data is None:
            return TableState(table_id=self.layout.table_id)
        if data.get("format") != STATE_FORMAT:
            raise ValueError(
                f"{self.layout.state_uri}: state format {data.get('format')!r} is not {STATE_FORMAT}; "
                "it was written by another version of the CDC job"
            )
        return TableState(**data)

    @staticmethod
    def pending_files(state: TableState, landed: list[LandedFile]) -> list[LandedFile]:
        """Files never processed, or rewritten since (size or fingerprint changed)."""
        pending = []
        for file in landed:
            seen = state.processed.get(file.rel_path)
            if seen is None or seen.get("fingerprint") != file.fingerprint or seen.get("size") != file.size:
                pending.append(file)
        return pending

    @staticmethod
    def committed_result(state: TableState, run_id: str) -> TableResult | None:
        """The result of ``run_id`` if that run already committed this table."""
        stored = state.recent_results.get(run_id)
        return TableResult.from_dict(stored) if stored else None

    def commit(
        self,
        state: TableState,
        files: list[LandedFile],
        schema: list[dict[str, str]] | None,
        result: TableResult,
        ordering_widths: dict[str, int] | None = None,
    ) -> TableState:
        """Mark ``files`` processed and record ``result``: call only after the table write committed.
        ``ordering_widths`` replaces the state's (``None``: kept)."""
        processed = dict(state.processed)
        for file in files:
            processed[file.rel_path] = {
                "fingerprint": file.fingerprint,
                "size": file.size,
                "run_id": result.run_id,
            }
        recent = {k: v for k, v in state.recent_results.items() if k != result.run_id}
        recent[result.run_id] = result.to_dict()
        while len(recent) > RECENT_RESULTS_KEPT:
            recent.pop(next(iter(recent)))
        new_state = TableState(
            table_id=state.table_id,
            processed=processed,
            schema=schema,
            loads=state.loads + 1,
            last_run_id=result.run_id,
            last_success_at=result.finished_at or utc_now(),
            recent_results=recent,
            ordering_widths=state.ordering_widths if ordering_widths is None else ordering_widths,
        )
        write_json_atomic(self.layout.state_uri, asdict(new_state))
        self.record(result)
        return new_state

    def prepare(
        self,
        files: list[LandedFile],
        schema: list[dict[str, str]] | None,
        result: TableResult,
        ordering_widths: dict[str, int] | None = None,
    ) -> None:
        """Write the prepared commit (call after the change set is written, before the table write)."""
        write_json_atomic(
            self.layout.commit_intent_uri,
            {
                "files": [asdict(f) for f in files],
                "schema": schema,
                "result": result.to_dict(),
                "ordering_widths": ordering_widths,
            },
        )

    def prepared(self) -> tuple[list[LandedFile], list[dict[str, str]] | None, TableResult] | None:
        """The prepared commit left by a crashed run: (files, schema, result), or ``None``."""
        data = read_json(self.layout.commit_intent_uri)
        if data is None:
            return None
        return [LandedFile(**f) for f in data["files"]], data["schema"], TableResult.from_dict(data["result"])

    def prepared_ordering_widths(self) -> dict[str, int] | None:
        """The text ordering widths of the prepared commit's table (``None``: unchanged)."""
        data = read_json(self.layout.commit_intent_uri)
        return None if data is None else data.get("ordering_widths")

    def clear_prepared(self) -> None:
        delete(self.layout.commit_intent_uri)

    def record(self, result: TableResult) -> bool:
        """Write the run's result to ``history/<run_id>.json`` (never changes the state).

        A committed (``ok``) result of a run id is never replaced by a later ``locked`` or
        ``failed`` record of the same run id (e.g. a retry that met another run's lock): the
        load downstream must still find the committed change set. Returns whether it wrote.
        """
        if result.status != STATUS_OK:
            stored = read_json(self.layout.result_uri(result.run_id))
            if stored is not None and stored.get("status") == STATUS_OK:
                return False
        write_json_atomic(self.layout.result_uri(result.run_id), result.to_dict())
        return True

    def history(self) -> list[dict[str, Any]]:
        """All recorded results, oldest first (by start time)."""
        results = [read_json(f.uri) for f in list_files(self.layout.history_root)]
        return sorted((r for r in results if r), key=lambda r: r.get("started_at") or "")
