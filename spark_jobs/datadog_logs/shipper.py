"""Ship the logs of one job run with an exactly-once effect (per-file checkpoints).

For each ``stdout.gz``/``stderr.gz`` of the run (every attempt and worker): read it, resume
after its checkpoint, parse records, build entries and add them to the current batch (at most
:data:`~spark_jobs.datadog_logs.entries.MAX_ENTRIES_PER_REQUEST` entries and
:data:`~spark_jobs.datadog_logs.entries.MAX_REQUEST_BYTES` bytes). When the intake accepted a
batch, the checkpoint of every file with records in it advances to its last record in the
batch. So a rerun or a backfill sends only what was not accepted, and a crash between the
intake's answer and the checkpoint writes duplicates at most that one batch (the bound: one
request, <= 1000 entries / 5 MB, per run being shipped). The exception is a record split into
parts (over 1 MB) across two requests, whose earlier parts are sent again.

A file is *final* when its run has ended (``final=True``, the post-run task) or, in a sweep,
when it has not changed for ``settle_seconds``. A file that is not final: a cut gzip stream is
left for later (``pending``), the last record is held back (more stack-trace lines may
follow). A final file whose gzip stream is still cut ships its complete lines and is reported
(``truncated``). A file rewritten with different earlier content is reported (``errors``) and
not shipped.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from spark_jobs.common.lake import read_bytes
from spark_jobs.datadog_logs.checkpoint import Checkpoint, read_checkpoint, write_checkpoint
from spark_jobs.datadog_logs.entries import (
    MAX_ENTRIES_PER_REQUEST,
    MAX_ENTRY_BYTES,
    MAX_REQUEST_BYTES,
    EntryBuilder,
    RunContext,
)
from spark_jobs.datadog_logs.gzip_text import CorruptLogFile, decompress_available
from spark_jobs.datadog_logs.intake import LogsIntake
from spark_jobs.datadog_logs.layout import JobRunLogs, LogFile, list_log_files
from spark_jobs.datadog_logs.parser import (
    KIND_JSON,
    KIND_LOG4J,
    KIND_TEXT,
    LogText,
    record_of,
    scan_records,
)

log = logging.getLogger(__name__)
DEFAULT_SETTLE_SECONDS = 1800


@dataclass
class ShipResult:
    """What one shipping pass of a run did (JSON-able with ``vars``)."""

    application_id: str
    job_run_id: str
    files: int = 0
    files_read: int = 0
    up_to_date: int = 0
    records: int = 0
    lines: int = 0
    entries: int = 0
    requests: int = 0
    late_entries: int = 0
    pending: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _Progress:
    """How far a file's records reached in the batches built so far (and the running prefix hash)."""

    def __init__(self, log_file: LogFile, data: bytes, checkpoint: Checkpoint) -> None:
        self.log_file = log_file
        self.data = data
        self.checkpoint = checkpoint
        self.offset, self.records, self.lines = checkpoint.offset, checkpoint.records, checkpoint.lines
        self.final_size: tuple[int, str] | None = None
        self._hash = hashlib.sha256()
        self._hashed = 0

    def advance(self, offset: int, records: int, lines: int) -> None:
        """Records up to byte ``offset`` (``records`` records, ``lines`` lines) are in a batch."""
        self.offset, self.records, self.lines = offset, records, lines

    def current(self) -> Checkpoint:
        """The checkpoint once every record added so far is accepted."""
        if self.final_size is None:
            return Checkpoint(offset=self.offset, records=self.records, lines=self.lines)
        size, fingerprint = self.final_size
        return Checkpoint(self.offset, self.records, self.lines, "", size, fingerprint, complete=True)

    def prefix_sha256(self, offset: int) -> str:
        """SHA-256 of ``data[:offset]`` (offsets only grow: each byte is hashed once)."""
        self._hash.update(memoryview(self.data)[self._hashed : offset])
        self._hashed = offset
        return self._hash.hexdigest()


class _Batch:
    def __init__(self) -> None:
        self.entries: list[str] = []
        """Each entry's JSON (ASCII): ``bytes`` is the request body's exact size."""
        self.bytes = 2
        self.files: dict[str, _Progress] = {}

    def room(self) -> tuple[int, int]:
        """Entries and bytes that still fit in this request."""
        return MAX_ENTRIES_PER_REQUEST - len(self.entries), MAX_REQUEST_BYTES - self.bytes


class RunShipper:
    """Ships one run's files; ``on_batch_accepted(n)`` runs after the n-th accepted request and
    before its checkpoints are written (progress reports; tests inject a crash there)."""

    def __init__(
        self,
        *,
        lake_root: str,
        intake: LogsIntake,
        context: RunContext,
        final: bool | None = None,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        now: datetime | None = None,
        on_batch_accepted: Callable[[int], None] | None = None,
    ) -> None:
        self.lake_root = lake_root
        self.intake = intake
        self.context = context
        self.final = final
        self.settle_seconds = settle_seconds
        self.now = now or datetime.now(UTC)
        self.on_batch_accepted = on_batch_accepted
        self._batch = _Batch()
        self._accepted = 0
        self._sender: ThreadPoolExecutor | None = None
        self._in_flight: Future[None] | None = None

    def ship(self, run: JobRunLogs) -> ShipResult:
        started = time.monotonic()
        result = ShipResult(run.application_id, run.job_run_id)
        files = list_log_files(run)
        result.files = len(files)
        # Two stages: this thread reads and parses while the sender thread sends the previous
        # batch and writes its checkpoints; a batch is sent only after the one before it is
        # checkpointed, so at most one batch is ever accepted without its checkpoint.
        self._sender = ThreadPoolExecutor(1, thread_name_prefix="datadog-sender")
        try:
            for log_file in files:
                self._ship_file(log_file, result)
            self._flush(result)
            self._wait()
        finally:
            self._sender.shutdown(wait=True)
            self._sender = None
        result.seconds = round(time.monotonic() - started, 3)
        return result

    def _is_final(self, log_file: LogFile) -> bool:
        if self.final is not None:
            return self.final
        return (self.now - log_file.modified).total_seconds() >= self.settle_seconds

    def _ship_file(self, log_file: LogFile, result: ShipResult) -> None:
        checkpoint = read_checkpoint(self.lake_root, log_file)
        if checkpoint.up_to_date(log_file):
            result.up_to_date += 1
            return
        final = self._is_final(log_file)
        raw = read_bytes(log_file.uri)
        result.files_read += 1
        try:
            decompressed = decompress_available(raw, log_file.uri)
        except CorruptLogFile as err:
            result.errors.append(str(err))
            return
        data = decompressed.data
        if not decompressed.complete:
            if not final:
                result.pending.append(log_file.relative_path)
                return
            if raw:
                result.truncated.append(log_file.relative_path)
            data = data[: data.rfind(b"\n") + 1]  # a cut last line is not a record
        progress = _Progress(log_file, data, checkpoint)
        if (
            len(data) < checkpoint.offset
            or progress.prefix_sha256(checkpoint.offset) != checkpoint.prefix_sha256
        ):
            result.errors.append(
                f"{log_file.uri} no longer starts with the {checkpoint.offset} bytes already shipped (rewritten?); "
                f"not shipped again. Delete its checkpoint to ship it as a new file."
            )
            return
        self._add_records(LogText(data, checkpoint.offset, final), progress, final, result)
        if log_file.relative_path not in self._batch.files and progress.current() != checkpoint:
            self._write(progress, progress.current())

    def _add_records(self, log: LogText, progress: _Progress, final: bool, result: ShipResult) -> None:
        """Add the file's new records to the batches: the shipper's hot loop, one pass over the
        text with no object per log4j or plain record (text -> JSON directly)."""
        log_file, checkpoint = progress.log_file, progress.checkpoint
        builder = EntryBuilder(self.context, log_file, int(self.now.timestamp() * 1000))
        log4j, plain = builder.log4j, builder.text
        path = log_file.relative_path
        text = log.text
        undecodable = log.undecodable
        line = checkpoint.lines + 1
        records = 0
        position = 0
        scanned = scan_records(log) if final else list(scan_records(log))[:-1]  # the last may grow
        batch = self._batch
        batch.files[path] = progress
        append = batch.entries.append
        room_entries, room_bytes = batch.room()
        for kind, start, end, detail in scanned:
            parts: tuple[str] | list[str]
            if kind is KIND_LOG4J or kind is KIND_TEXT:
                message = text[start : end - 1]
                lines = message.count("\n") + 1 if "\n" in message else 1
                entry = log4j(detail, message, line) if kind is KIND_LOG4J else plain(message, line)
                # an undecodable byte is a lone surrogate, escaped \udcXX: such records take the
                # dict path, which cleans them (a false alarm, e.g. an emoji, only costs time)
                if len(entry) <= MAX_ENTRY_BYTES and not (
                    undecodable and not message.isascii() and "\\udc" in entry
                ):
                    parts = (entry,)
                else:
                    parts = builder.serialized(builder.entry(record_of(log, kind, start, end, detail, line)))
            elif kind is KIND_JSON:
                lines = text.count("\n", start, end)
                parts = builder.json_line(detail, line)
            else:
                record = record_of(log, kind, start, end, detail, line)
                lines = record.lines
                parts = builder.serialized(builder.entry(record))
            for part in parts:
                size = len(part) + 1
                if room_entries == 0 or size > room_bytes:
                    progress.advance(log.byte_offset(start), checkpoint.records + records, line - 1)
                    batch = self._next_batch(batch, room_bytes, result, progress)
                    append = batch.entries.append
                    room_entries, room_bytes = batch.room()
                append(part)
                room_entries -= 1
                room_bytes -= size
            records += 1
            line += lines
            position = end
        batch.bytes = MAX_REQUEST_BYTES - room_bytes
        progress.advance(log.byte_offset(position), checkpoint.records + records, line - 1)
        result.records += records
        result.lines += line - 1 - checkpoint.lines
        result.late_entries += builder.late
        if final:  # every record is in a batch: the file is complete once the intake accepted them
            progress.final_size = (log_file.size, log_file.fingerprint)

    def _next_batch(self, full: _Batch, room_bytes: int, result: ShipResult, progress: _Progress) -> _Batch:
        """Send the full batch (its checkpoints as of now) and start the next one with ``progress``'s file."""
        full.bytes = MAX_REQUEST_BYTES - room_bytes
        self._flush(result)
        self._batch.files[progress.log_file.relative_path] = progress
        return self._batch

    def _write(self, progress: _Progress, cp: Checkpoint) -> None:
        done = Checkpoint(
            offset=cp.offset,
            records=cp.records,
            lines=cp.lines,
            prefix_sha256=progress.prefix_sha256(cp.offset),
            size=cp.size,
            fingerprint=cp.fingerprint,
            complete=cp.complete,
        )
        write_checkpoint(self.lake_root, progress.log_file, done)

    def _flush(self, result: ShipResult) -> None:
        """Hand the batch to the sender once the previous one is accepted and checkpointed."""
        batch = self._batch
        self._batch = _Batch()
        self._wait()
        snapshot = [(progress, progress.current()) for progress in batch.files.values()]
        if batch.entries or snapshot:
            assert self._sender is not None
            self._in_flight = self._sender.submit(self._send, batch.entries, snapshot, result)

    def _wait(self) -> None:
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            in_flight.result()  # the sender's error (intake refused, crash hook) surfaces here

    def _send(
        self, entries: list[str], snapshot: list[tuple[_Progress, Checkpoint]], result: ShipResult
    ) -> None:
        if entries:
            self.intake.submit(entries)
            self._accepted += 1
            result.entries += len(entries)
            result.requests += 1
            if self.on_batch_accepted is not None:
                self.on_batch_accepted(self._accepted)
        for progress, checkpoint in snapshot:
            self._write(progress, checkpoint)


def ship_job_run(run: JobRunLogs, **options: Any) -> ShipResult:
    """Ship what is new in ``run``'s log files (options: :class:`RunShipper`'s; guarantees: the module's)."""
    shipper = RunShipper(**options)
    result = shipper.ship(run)
    log.info(
        "Shipped job run %s/%s: %s records (%s lines) in %s entries, %s requests; %s files up to date, "
        "pending %s, truncated %s, late %s",
        run.application_id, run.job_run_id, result.records, result.lines, result.entries, result.requests,
        result.up_to_date, result.pending, result.truncated, result.late_entries,
    )  # fmt: skip
    return result
