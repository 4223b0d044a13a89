"""Which DMS files of a table are new, and the table's processing history, kept in the lake.

``state.json`` is the commit record: it lists every processed landing file (path, size,
fingerprint, content digest, run id), the schema of the last successful load and the results of the most
recent committed runs. It is replaced atomically and only after the table write committed,
so a crash before that leaves the files pending and the next run applies them again (the
writes are idempotent: upserts by key, history rows deduplicated by key + sequence).

A processed file whose fingerprint (ETag / mtime) changed but whose size and digest are the
recorded ones was *landed again* (the same bytes rewritten): it is not processed again, only its
new fingerprint is recorded. Files processed before digests were recorded have none and are
pending again on any change, as before.

``history/<run_id>.json`` holds every run's result (ok, noop, locked, failed).

``commit.json`` is the prepared commit: the files, schema and result (with its change set)
of a run whose table write may have happened but whose ``state.json`` was not written yet.
The next run under the lock finishes it (see ``spark_jobs.cdc.merge``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from spark_jobs.cdc.dms_files import LandedFile
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.results import STATUS_OK, TableResult, utc_now
from spark_jobs.common.lake import delete, file_digest, list_files, read_json, write_json_atomic

STATE_FORMAT = 1
RECENT_RESULTS_KEPT = 20


@dataclass
class TableState:
    """The committed state of one CDC table."""

    table_id: str
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Landing path -> {"fingerprint", "size", "digest", "run_id"} ("digest" absent or ``None``
    for files processed before digests were recorded)."""
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
        """Files never processed, or rewritten since with other bytes (see :meth:`split_landed`)."""
        return FileTracker.split_landed(state, landed)[0]

    @staticmethod
    def changed_files(state: TableState, landed: list[LandedFile]) -> list[LandedFile]:
        """Files never processed or rewritten since (size or fingerprint changed), without reading
        them: the pending files and the files landed again of :meth:`split_landed`."""
        return [
            f
            for f in landed
            if (seen := state.processed.get(f.rel_path)) is None
            or (seen.get("size"), seen.get("fingerprint")) != (f.size, f.fingerprint)
        ]

    @staticmethod
    def split_landed(
        state: TableState, landed: list[LandedFile]
    ) -> tuple[list[LandedFile], list[LandedFile]]:
        """(pending, landed again) of ``landed``.

        Pending: never processed, or rewritten since (size or fingerprint changed) with other
        bytes. Landed again: processed, then rewritten with the same bytes (same size and digest
        as recorded; the digest is computed only for these candidates), returned with their
        digest (as is a candidate found pending). A file processed without a recorded digest is
        pending on any change."""
        pending, again = [], []
        for file in landed:
            seen = state.processed.get(file.rel_path)
            if seen is None or seen.get("size") != file.size:
                pending.append(file)
            elif seen.get("fingerprint") != file.fingerprint:
                recorded = seen.get("digest")
                digest = file_digest(file.uri) if recorded else None
                if digest is not None and digest == recorded:
                    again.append(replace(file, digest=digest))
                else:  # the digest computed here is kept: with_digests does not read it again
                    pending.append(file if digest is None else replace(file, digest=digest))
        return pending, again

    @staticmethod
    def with_digests(files: list[LandedFile]) -> list[LandedFile]:
        """``files`` with their content digest; compute it before reading them for processing, so
        that a file rewritten in between is pending again (its recorded digest is older)."""
        return [f if f.digest is not None else replace(f, digest=file_digest(f.uri)) for f in files]

    def mark_landed_again(self, state: TableState, files: list[LandedFile]) -> TableState:
        """Record the new fingerprints of files landed again (their bytes were processed by a
        committed run, which ``run_id`` keeps naming); for a run with nothing else to commit."""
        new_state = replace(state, processed=self._processed(state, [], files, ""))
        write_json_atomic(self.layout.state_uri, asdict(new_state))
        return new_state

    @staticmethod
    def _processed(
        state: TableState, files: list[LandedFile], landed_again: list[LandedFile], run_id: str
    ) -> dict[str, dict[str, Any]]:
        processed = dict(state.processed)
        for file in files:
            processed[file.rel_path] = {
                "fingerprint": file.fingerprint,
                "size": file.size,
                "digest": file.digest,
                "run_id": run_id,
            }
        for file in landed_again:
            processed[file.rel_path] = {**processed[file.rel_path], "fingerprint": file.fingerprint}
        return processed

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
        landed_again: list[LandedFile] | None = None,
    ) -> TableState:
        """Mark ``files`` processed and record ``result``: call only after the table write committed.
        ``ordering_widths`` replaces the state's (``None``: kept); ``landed_again``: files of
        :meth:`split_landed` whose new fingerprint is recorded too."""
        processed = self._processed(state, files, landed_again or [], result.run_id)
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
