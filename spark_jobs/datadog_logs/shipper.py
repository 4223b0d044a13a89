"""Ship the logs of one job run with an exactly-once effect (per-file checkpoints).

For each ``stdout.gz``/``stderr.gz`` of the run (every attempt and worker): read it, resume
after its checkpoint, and cut its new records into batches of entries
(:func:`~spark_jobs.datadog_logs.columnar.batches`: at most
:data:`~spark_jobs.datadog_logs.entries.MAX_ENTRIES_PER_REQUEST` entries and
:data:`~spark_jobs.datadog_logs.entries.MAX_REQUEST_BYTES` bytes; a batch holds one file's
records). Checkpoints are per file, so files are independent: up to ``concurrent_requests``
files ship at once (default :data:`~spark_jobs.datadog_logs.intake.DEFAULT_CONCURRENT_REQUESTS`),
each with at most one batch in flight (its entries are built ahead, a piece of the file at a
time, while the batches before them are sent). When the intake accepted
a file's batch, that file's checkpoint (and only it) advances to the batch's last record; the
file's next batch is sent after that. So a rerun or a backfill sends only what was not accepted,
and a crash between the intake's answer and a checkpoint write duplicates at most that file's one
batch (the bound: one request, <= 1000 entries / 5 MB, per file being shipped, so at most
``concurrent_requests`` requests per run). The exception is a record split into parts (over
1 MB) across two requests, whose earlier parts are sent again. When one batch fails (the intake
refused it, or a crash), no file sends a new batch; the batches already in flight finish and
checkpoint, and the first error is raised.

A run's throughput is bounded per file by ``request round trip + checkpoint write`` per batch:
one very large file (a chatty driver) ships at the single-stream rate whatever the concurrency.

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
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from spark_jobs.common.lake import read_bytes
from spark_jobs.datadog_logs.checkpoint import Checkpoint, read_checkpoint, write_checkpoint
from spark_jobs.datadog_logs.columnar import Batch, batches
from spark_jobs.datadog_logs.entries import EntryBuilder, RunContext
from spark_jobs.datadog_logs.gzip_text import CorruptLogFile, decompress_available
from spark_jobs.datadog_logs.intake import DEFAULT_CONCURRENT_REQUESTS, LogsIntake
from spark_jobs.datadog_logs.layout import JobRunLogs, LogFile, list_log_files

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


class _Stopped(Exception):
    """Another file's batch failed: this file sends no new batch (its rerun ships it)."""


class _FileStream:
    """One file's batches: at most one in flight, each sent after the one before it is checkpointed."""

    def __init__(self, shipper: RunShipper, progress: _Progress) -> None:
        self.shipper = shipper
        self.progress = progress
        self.written = progress.checkpoint
        self.in_flight: Future[None] | None = None

    def send(self, entries: pa.StringArray | None) -> None:
        """Hand ``entries`` and the checkpoint they complete (the progress so far) to the senders
        once the previous batch is done; no entries: write that checkpoint if it is new."""
        self.wait()
        if self.shipper.failed.is_set():
            raise _Stopped()
        checkpoint = self.progress.current()
        if entries is not None and len(entries):
            self.in_flight = self.shipper.submit(self, entries, checkpoint)
        elif checkpoint != self.written:  # nothing new to send, but the file is now complete
            self.write(checkpoint)

    def wait(self) -> None:
        if self.in_flight is not None:
            in_flight, self.in_flight = self.in_flight, None
            in_flight.result()  # the sender's error (intake refused, crash hook) surfaces here

    def write(self, cp: Checkpoint) -> None:
        done = replace(cp, prefix_sha256=self.progress.prefix_sha256(cp.offset))
        write_checkpoint(self.shipper.lake_root, self.progress.log_file, done)
        self.written = cp


class RunShipper:
    """Ships one run's files, ``concurrent_requests`` of them at once; ``on_batch_accepted(n)`` runs
    after the n-th accepted request and before its checkpoint is written (progress reports; tests
    inject a crash there)."""

    def __init__(
        self,
        *,
        lake_root: str,
        intake: LogsIntake,
        context: RunContext,
        final: bool | None = None,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        now: datetime | None = None,
        concurrent_requests: int = DEFAULT_CONCURRENT_REQUESTS,
        on_batch_accepted: Callable[[int], None] | None = None,
    ) -> None:
        if concurrent_requests < 1:
            raise ValueError(f"concurrent_requests must be >= 1, got {concurrent_requests}")
        self.lake_root = lake_root
        self.intake = intake
        self.context = context
        self.final = final
        self.settle_seconds = settle_seconds
        self.now = now or datetime.now(UTC)
        self.concurrent_requests = concurrent_requests
        self.on_batch_accepted = on_batch_accepted
        self._accepted = 0
        self._lock = threading.Lock()
        self.failed = threading.Event()  # set once a batch failed: no file sends another
        self._sender: ThreadPoolExecutor | None = None
        self._result = ShipResult("", "")

    def ship(self, run: JobRunLogs) -> ShipResult:
        started = time.monotonic()
        result = self._result = ShipResult(run.application_id, run.job_run_id)
        files = list_log_files(run)
        result.files = len(files)
        # Up to `concurrent_requests` files at once, each in two stages: its reader thread parses
        # the next batch while a sender sends the previous one and writes that file's checkpoint;
        # a file's batch is sent only after the one before it is checkpointed, so at most one
        # batch per file (and `concurrent_requests` per run) is ever accepted without its checkpoint.
        self.failed.clear()
        workers = min(self.concurrent_requests, max(1, len(files)))
        with (
            ThreadPoolExecutor(workers, thread_name_prefix="datadog-sender") as sender,
            ThreadPoolExecutor(workers, thread_name_prefix="datadog-reader") as readers,
        ):
            self._sender = sender
            try:
                shipped = [readers.submit(self._ship_file, log_file, result) for log_file in files]
                errors = [f.exception() for f in shipped]
            finally:
                self._sender = None
        first = next((e for e in errors if e is not None and not isinstance(e, _Stopped)), None)
        if first is not None:
            raise first
        result.seconds = round(time.monotonic() - started, 3)
        return result

    def _is_final(self, log_file: LogFile) -> bool:
        if self.final is not None:
            return self.final
        return (self.now - log_file.modified).total_seconds() >= self.settle_seconds

    def _ship_file(self, log_file: LogFile, result: ShipResult) -> None:
        if self.failed.is_set():
            return  # another file's batch failed: the run stops; the rerun ships this file
        checkpoint = read_checkpoint(self.lake_root, log_file)
        if checkpoint.up_to_date(log_file):
            with self._lock:
                result.up_to_date += 1
            return
        final = self._is_final(log_file)
        raw = read_bytes(log_file.uri)
        with self._lock:
            result.files_read += 1
        try:
            decompressed = decompress_available(raw, log_file.uri)
        except CorruptLogFile as err:
            with self._lock:
                result.errors.append(str(err))
            return
        data = decompressed.data
        if not decompressed.complete:
            if not final:
                with self._lock:
                    result.pending.append(log_file.relative_path)
                return
            if raw:
                with self._lock:
                    result.truncated.append(log_file.relative_path)
            data = data[: data.rfind(b"\n") + 1]  # a cut last line is not a record
        progress = _Progress(log_file, data, checkpoint)
        if (
            len(data) < checkpoint.offset
            or progress.prefix_sha256(checkpoint.offset) != checkpoint.prefix_sha256
        ):
            with self._lock:
                result.errors.append(
                    f"{log_file.uri} no longer starts with the {checkpoint.offset} bytes already shipped "
                    "(rewritten?); not shipped again. Delete its checkpoint to ship it as a new file."
                )
            return
        stream = _FileStream(self, progress)
        try:
            self._add_records(data, stream, final, result)
        finally:
            stream.wait()

    def _add_records(self, data: bytes, stream: _FileStream, final: bool, result: ShipResult) -> None:
        """Send the file's new records in batches (:func:`~spark_jobs.datadog_logs.columnar.batches`),
        each with the checkpoint it completes; the last one also says the file is complete when
        ``final``."""
        progress = stream.progress
        log_file, checkpoint = progress.log_file, progress.checkpoint
        builder = EntryBuilder(self.context, log_file, int(self.now.timestamp() * 1000))
        last: Batch | None = None
        for batch in batches(data, checkpoint.offset, checkpoint.lines + 1, final, builder):
            if last is not None:
                self._send_batch(stream, last)
            last = batch
        with self._lock:
            result.records += last.records if last else 0
            result.lines += last.lines if last else 0
            result.late_entries += builder.late
        if final:  # every record is in a batch: the file is complete once the intake accepted them
            progress.final_size = (log_file.size, log_file.fingerprint)
        if last is None:
            stream.send(None)
        else:
            self._send_batch(stream, last)

    @staticmethod
    def _send_batch(stream: _FileStream, batch: Batch) -> None:
        checkpoint = stream.progress.checkpoint
        stream.progress.advance(
            batch.offset, checkpoint.records + batch.records, checkpoint.lines + batch.lines
        )
        stream.send(batch.entries)

    def submit(self, stream: _FileStream, entries: pa.StringArray, checkpoint: Checkpoint) -> Future[None]:
        """Send ``entries`` on a sender thread, then write ``stream``'s file's ``checkpoint``."""
        assert self._sender is not None
        return self._sender.submit(self._send, stream, entries, checkpoint)

    def _send(self, stream: _FileStream, entries: pa.StringArray, checkpoint: Checkpoint) -> None:
        try:
            self.intake.submit(entries)
            with self._lock:
                self._accepted += 1
                accepted = self._accepted
                self._result.entries += len(entries)
                self._result.requests += 1
            if self.on_batch_accepted is not None:
                self.on_batch_accepted(accepted)
            stream.write(checkpoint)
        except BaseException:
            self.failed.set()  # the other files send no new batch; theirs in flight still checkpoint
            raise


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
