"""Several files of one run shipped at once: one batch in flight per file, each file's own checkpoint."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from datadog_log_files import job_run, write_log

from data_platform.local.datadog_intake import Fault
from spark_jobs.datadog_logs.checkpoint import read_checkpoint
from spark_jobs.datadog_logs.entries import MAX_REQUEST_BYTES, RunContext
from spark_jobs.datadog_logs.intake import IntakeRejected, LogsIntake
from spark_jobs.datadog_logs.layout import list_log_files
from spark_jobs.datadog_logs.shipper import ship_job_run

CONTEXT = RunContext(job_name="wide", service="wide", env="test", team="data-eng", job_tags={})
STAMP = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%y/%m/%d %H:%M:%S")
FILES = [
    "SPARK_DRIVER/stderr.gz",
    "SPARK_DRIVER/stdout.gz",
    "SPARK_EXECUTOR/1/stderr.gz",
    "SPARK_EXECUTOR/2/stderr.gz",
    "attempts/2/SPARK_EXECUTOR/1/stdout.gz",
]
BATCH = 10
LINES_PER_FILE = 35  # 4 batches per file: three full, one of 5


def write_run(tmp_path) -> list[str]:
    """Five files of distinct log4j lines; every source message (the line after its log4j head)."""
    source = []
    for index, relative in enumerate(FILES):
        lines = [f"{STAMP} INFO Task: file {index} line {i}" for i in range(LINES_PER_FILE)]
        write_log(tmp_path / "logs", "run-1", relative, "".join(line + "\n" for line in lines))
        source += [f"file {index} line {i}" for i in range(LINES_PER_FILE)]
    return source


def received(server) -> Counter[str]:
    """Each message the intake holds, with how many times it came (``Task: `` prefix cut off)."""
    return Counter(e["message"].split("Task: ", 1)[1] for e in server.events)


def ship(tmp_path, intake, **options):
    return ship_job_run(
        job_run(tmp_path / "logs", "run-1"),
        lake_root=f"file://{tmp_path}/lake",
        intake=intake,
        context=CONTEXT,
        final=True,
        **options,
    )


class WatchedIntake:
    """Wraps a client: counts requests in flight per file and overall; the first ``meet`` requests
    wait for each other (so they are provably in flight at the same time)."""

    def __init__(self, intake: LogsIntake, meet: int) -> None:
        self.intake = intake
        self.meeting = threading.Barrier(meet, timeout=30) if meet > 1 else None
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.most_per_file = 0
        self.most = 0
        self.calls = 0

    def submit(self, entries: pa.StringArray) -> None:
        first_entry = json.loads(entries[0].as_py())
        file = first_entry["hostname"] + first_entry["ddtags"]  # worker, attempt and stream
        with self.lock:
            self.calls += 1
            first = self.calls <= (self.meeting.parties if self.meeting else 0)
            self.in_flight[file] += 1
            self.most_per_file = max(self.most_per_file, self.in_flight[file])
            self.most = max(self.most, sum(self.in_flight.values()))
        try:
            if first and self.meeting is not None:
                self.meeting.wait()
            self.intake.submit(entries)
        finally:
            with self.lock:
                self.in_flight[file] -= 1


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr("spark_jobs.datadog_logs.columnar.MAX_ENTRIES_PER_REQUEST", BATCH)


def test_files_ship_concurrently_one_batch_in_flight_per_file(tmp_path, intake, intake_server):
    source = write_run(tmp_path)
    watched = WatchedIntake(intake, meet=3)
    result = ship(tmp_path, watched, concurrent_requests=3)
    assert received(intake_server) == Counter(source)  # every line exactly once
    assert watched.most == 3 and watched.most_per_file == 1
    assert (result.requests, result.entries, result.lines) == (4 * len(FILES), len(source), len(source))
    assert all(r.entries <= BATCH and r.body_bytes <= MAX_REQUEST_BYTES for r in intake_server.requests)
    for log_file in list_log_files(job_run(tmp_path / "logs", "run-1")):
        checkpoint = read_checkpoint(f"file://{tmp_path}/lake", log_file)
        assert (checkpoint.records, checkpoint.complete) == (LINES_PER_FILE, True)


def test_a_refused_batch_among_concurrent_ones_then_a_rerun_sends_every_line_exactly_once(
    tmp_path, intake, intake_server
):
    source = write_run(tmp_path)
    intake_server.inject(Fault(delay=0.2), Fault(delay=0.2), Fault(status=400))  # the crash: batch 3
    watched = WatchedIntake(intake, meet=3)
    with pytest.raises(IntakeRejected):
        ship(tmp_path, watched, concurrent_requests=3)
    first = received(intake_server)
    assert 0 < sum(first.values()) < len(source)  # the run stopped part way
    rerun = ship(tmp_path, intake, concurrent_requests=3)
    assert received(intake_server) == Counter(source)  # nothing lost, nothing twice
    assert rerun.entries == len(source) - sum(first.values())


def test_a_crash_before_a_checkpoint_duplicates_only_that_files_batch(tmp_path, intake, intake_server):
    source = write_run(tmp_path)

    def crash_after_third(accepted: int) -> None:
        if accepted == 3:
            raise RuntimeError("worker lost after the intake accepted batch 3")

    watched = WatchedIntake(intake, meet=3)
    with pytest.raises(RuntimeError, match="worker lost"):
        ship(tmp_path, watched, concurrent_requests=3, on_batch_accepted=crash_after_third)
    ship(tmp_path, intake, concurrent_requests=3)
    counts = received(intake_server)
    assert set(counts) == set(source)  # nothing lost
    twice = sorted(line for line, n in counts.items() if n > 1)
    assert max(counts.values()) == 2 and len(twice) == BATCH  # the bound: the one unacknowledged batch
    assert len({line.split(" line ")[0] for line in twice}) == 1  # ... of one file


def test_retries_429_and_413_under_concurrency_keep_every_line_once_and_the_limits(
    tmp_path, intake, intake_server, sleeps
):
    source = write_run(tmp_path)
    intake_server.inject(
        Fault(status=429, retry_after="3"), Fault(status=413), Fault(status=503), Fault(status=408)
    )
    result = ship(tmp_path, WatchedIntake(intake, meet=1), concurrent_requests=4)
    assert received(intake_server) == Counter(source)
    assert 3.0 in sleeps and intake.retries == 3 and intake.splits == 1
    assert intake.requests == len(intake_server.requests)  # the client's counters are shared safely
    assert result.requests == 4 * len(FILES)  # a split batch counts once: accepted as a whole
    accepted = [r for r in intake_server.requests if r.status == 202]
    assert all(r.entries <= BATCH and r.body_bytes <= MAX_REQUEST_BYTES for r in accepted)
    assert sum(r.entries for r in accepted) == len(source)


def test_concurrent_requests_must_be_positive(tmp_path, intake):
    write_run(tmp_path)
    with pytest.raises(ValueError, match="concurrent_requests"):
        ship(tmp_path, intake, concurrent_requests=0)
