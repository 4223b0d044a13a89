"""Datadog log shipping throughput: lines/s parsed and shipped to the local intake, against the floor.

Generates one EMR Serverless-shaped job run (driver + 4 executors, stdout/stderr, gzip) of
realistic Spark output: log4j lines, the jobs' JSON lines, Java stack traces of 20 lines,
``print`` lines, some invalid UTF-8. In the same run it measures:

- the floor: decompress every file (with ISA-L, as the shipper does), split it into lines and
  serialize the lines as Datadog entries (``{"message": line}``) in JSON requests of 1000: what
  any shipper of those lines pays;
- the client floor: the same, serialized by ``datadog-api-client`` the way LogsApi.submit_log
  does it (its ``data_to_dict`` walk, ``json.dumps``, gzip): what any shipper through the official
  client pays;
- the tagged floor: the lines as the entries the shipper sends must be at the least, with the
  run's attributes (``ddsource``, ``ddtags``, ``hostname``, ``service``: the file's, from
  :class:`~spark_jobs.datadog_logs.entries.EntryBuilder`), the line's place and a status,
  serialized by ``json.dumps`` and gzip-compressed as the shipper does (ISA-L, its level): what a
  straightforward shipper of those entries pays before parsing a record or sending a byte;
- the shipper: ``ship_job_run`` into an empty lake, to the intake stand-in running in its own
  process: decompress, parse records, build entries with tags, batch, gzip, send, checkpoint;
  once with one request in flight (``concurrent_requests=1``: the files one after another) and
  once with the default (the files shipped concurrently, one batch in flight each).

Each step is reported in wall time and in CPU time (the shipper's process, all its threads; and
the intake stand-in's process): the machine is shared, and CPU seconds say what the code costs
when wall seconds mostly say how busy the machine was. The shipper's wall time has a floor of its
own: a file's batches go one at a time, each after the previous one's checkpoint is written
(fsync), so ``requests of the largest file x (request round trip + checkpoint write)`` bounds it
whatever the parsing costs (the files here are of equal size; the largest file's share is printed).

The steps run in :data:`REPEATS` rounds (one run of each step per round) and the fastest run of a
step counts (as ``timeit`` does): the first run of a process also pays one-time costs (imports,
allocator growth), which are not per line. This machine's speed drifts by a third and more within
a minute (other tenants), so the ratio to the floor is taken round by round, each shipping run
against the floor run just before it, and the median of those is reported beside the ratio of the
fastest runs.

Run: ``python -m benchmarks.datadog_logs [lines]`` (default 300,000).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from isal import igzip

if TYPE_CHECKING:
    from spark_jobs.datadog_logs.entries import RunContext
    from spark_jobs.datadog_logs.layout import JobRunLogs

DEFAULT_LINES = 300_000
REPEATS = 5
API_KEY = "bench-api-key"
APPLICATION_ID, JOB_RUN_ID = "00fbench", "00frun"
FILES = ["SPARK_DRIVER/stderr.gz", "SPARK_DRIVER/stdout.gz"] + [
    f"SPARK_EXECUTOR/{n}/{stream}.gz" for n in range(1, 5) for stream in ("stderr", "stdout")
]


def spark_output(lines: int, seed: int) -> bytes:
    """About ``lines`` lines of driver/executor output with a recent timestamp."""
    rng = random.Random(seed)
    stamp = time.strftime("%y/%m/%d %H:%M", time.gmtime())
    iso_stamp = time.strftime("%Y-%m-%dT%H:%M", time.gmtime())
    out: list[str] = []
    while len(out) < lines:
        kind = rng.random()
        second = f"{stamp}:{rng.randrange(60):02d}"
        task = rng.randrange(100_000)
        if kind < 0.82:
            out.append(f"{second} INFO TaskSetManager: Finished task {task}.0 in stage 3.0 (TID {task}) in 42 ms on "
                       f"ip-10-0-1-17.ec2.internal (executor 2) ({task}/100000)")  # fmt: skip
        elif kind < 0.90:
            fields = {"ts": f"{iso_stamp}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}+00:00", "level": "INFO",
                      "logger": "spark_jobs.cdc.merge", "thread": "MainThread", "message": "table merged",
                      "table_id": "shop.orders", "inserted": task, "updated": 3}  # fmt: skip
            out.append(json.dumps(fields))
        elif kind < 0.99:
            out.append(f"batch {task}: wrote part-{task:05d}.parquet")
        else:
            out.append(f"{second} ERROR Executor: Exception in task {task}.0 in stage 3.0 (TID {task})")
            out.append("org.apache.spark.SparkException: Job aborted due to stage failure")
            out += [
                f"\tat org.apache.spark.scheduler.DAGScheduler.step{i}(DAGScheduler.scala:{i})"
                for i in range(17)
            ]
            out.append("Caused by: java.io.IOException: No space left on device \udcff")
    return "\n".join(out[:lines]).encode("utf-8", "surrogateescape") + b"\n"


def run_logs(root: Path) -> JobRunLogs:
    """The benchmark's job run under ``root`` (what :func:`write_run` writes)."""
    from spark_jobs.datadog_logs.layout import JobRunLogs

    return JobRunLogs(f"file://{root}/logs", APPLICATION_ID, JOB_RUN_ID)


def run_context() -> RunContext:
    """What every entry of the benchmark's run carries besides its record."""
    from spark_jobs.datadog_logs.entries import RunContext

    return RunContext("bench", "bench", "bench", "bench", {})


def run_folder(root: Path) -> Path:
    """The folder of :func:`run_logs`' log files."""
    from spark_jobs.common.lake import local_path

    return Path(local_path(run_logs(root).prefix))


def write_run(root: Path, lines: int) -> Path:
    run = run_folder(root)
    per_file = lines // len(FILES)
    for index, relative in enumerate(FILES):
        path = run / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(spark_output(per_file, index), 6))
    (run / "job_run.json").write_text(
        json.dumps({"name": "bench", "tags": {"team": "bench"}, "state": "SUCCESS"})
    )
    return run


def _batches(lines: list[bytes]) -> list[list[dict[str, str]]]:
    return [
        [{"message": line.decode("utf-8", "replace")} for line in lines[i : i + 1000]]
        for i in range(0, len(lines), 1000)
    ]


def _tagged_batches(lines: list[bytes], base: dict[str, Any], path: str) -> list[list[dict[str, Any]]]:
    """The lines as entries with the file's attributes (``base``), their place and a status, by 1000."""
    return [
        [
            {**base, "emr": {"log_file": path, "line": first + n + 1}, "status": "info", "message": line.decode("utf-8", "replace")}
            for n, line in enumerate(lines[first : first + 1000])
        ]
        for first in range(0, len(lines), 1000)
    ]  # fmt: skip


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def floor(root: Path, kind: Literal["plain", "client", "tagged"]) -> tuple[int, float, float]:
    """Lines, wall and CPU seconds of the ``plain``, ``client`` or ``tagged`` floor (the module's)
    of the run written under ``root``."""
    from datadog_api_client.model_utils import data_to_dict
    from isal import isal_zlib

    from spark_jobs.datadog_logs.entries import EntryBuilder
    from spark_jobs.datadog_logs.intake import GZIP_LEVEL
    from spark_jobs.datadog_logs.layout import list_log_files

    run, context = run_folder(root), run_context()
    log_files = list_log_files(run_logs(root))  # the files the shipper finds, listed before the clock starts
    started, cpu_started = time.perf_counter(), time.process_time()
    count = 0
    for log_file in log_files:
        lines = igzip.decompress((run / log_file.relative_path).read_bytes()).split(b"\n")[:-1]
        count += len(lines)
        if kind == "tagged":
            batches = _tagged_batches(lines, EntryBuilder(context, log_file, 0).base, log_file.relative_path)
        else:
            batches = _batches(lines)
        for batch in batches:
            if kind == "plain":
                json.dumps(batch)
            elif kind == "client":
                compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
                compressor.compress(json.dumps(data_to_dict(batch)).encode()) + compressor.flush()
            else:
                isal_compressor = isal_zlib.compressobj(GZIP_LEVEL, wbits=16 + isal_zlib.MAX_WBITS)
                isal_compressor.compress(json.dumps(batch).encode()) + isal_compressor.flush()
    return count, time.perf_counter() - started, time.process_time() - cpu_started


def ship(
    root: Path, concurrent_requests: int, attempt: int = 0
) -> tuple[int, int, float, float, float | None]:
    """Lines and requests shipped into a new lake, wall seconds, CPU seconds of this process and of the intake."""
    from spark_jobs.datadog_logs.intake import LogsIntake
    from spark_jobs.datadog_logs.shipper import ship_job_run

    command = [
        sys.executable,
        "-m",
        "data_platform.local.datadog_intake",
        "--port",
        "0",
        "--api-key",
        API_KEY,
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split(" on ", 1)[1].split("/api/")[0]
        logs, context = run_logs(root), run_context()
        intake_cpu = _cpu_seconds(server.pid)
        with LogsIntake(API_KEY, host=url, max_connections=concurrent_requests) as intake:
            started, cpu_started = time.perf_counter(), time.process_time()
            result = ship_job_run(
                logs,
                lake_root=f"file://{root}/lake-{concurrent_requests}-{attempt}",
                intake=intake,
                context=context,
                final=True,
                concurrent_requests=concurrent_requests,
            )
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        intake_after = _cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait()
    intake_used = None if intake_cpu is None or intake_after is None else intake_after - intake_cpu
    return result.lines, result.requests, seconds, cpu, intake_used


def main(argv: list[str] | None = None) -> None:
    from spark_jobs.datadog_logs.intake import DEFAULT_CONCURRENT_REQUESTS

    argv = argv or []
    lines = int(argv[0]) if argv else DEFAULT_LINES
    with tempfile.TemporaryDirectory(prefix="bench-datadog-") as folder:
        root = Path(folder)
        print(f"generating one job run: {lines:,} lines in {len(FILES)} gzip files", flush=True)
        run = write_run(root, lines)
        sizes = [os.path.getsize(run / f) for f in FILES]
        print(
            f"  {sum(sizes) / 1e6:.1f} MB gzip; the largest file {max(sizes) / sum(sizes):.0%} of it",
            flush=True,
        )
        rounds = []
        for attempt in range(REPEATS):  # each round's floor runs right before the run it is compared with
            client, tagged = floor(root, "client"), floor(root, "tagged")
            single = ship(root, 1, attempt)
            floor_run = floor(root, "plain")
            rounds.append(
                (floor_run, client, single, ship(root, DEFAULT_CONCURRENT_REQUESTS, attempt), tagged)
            )
        count, floor_seconds, floor_cpu = min((r[0] for r in rounds), key=lambda measured: measured[1])
        _, client_seconds, client_cpu = min((r[1] for r in rounds), key=lambda measured: measured[1])
        _, tagged_seconds, tagged_cpu = min((r[4] for r in rounds), key=lambda measured: measured[1])
        print(f"{'step (fastest of ' + str(REPEATS) + ')':58} {'lines/s':>10} {'seconds':>8} {'cpu s':>6}")
        for name, seconds, cpu in (
            ("floor: decompress + serialize the lines as JSON entries", floor_seconds, floor_cpu),
            ("client floor: ... + datadog-api-client serialization, gzip", client_seconds, client_cpu),
            ("tagged floor: entries with the run's attributes, gzip", tagged_seconds, tagged_cpu),
        ):
            print(f"{name:58} {count / seconds:>10,.0f} {seconds:8.2f} {cpu:6.2f}", flush=True)
        for concurrent, runs in (
            (1, [r[2] for r in rounds]),
            (DEFAULT_CONCURRENT_REQUESTS, [r[3] for r in rounds]),
        ):
            shipped, requests, ship_seconds, ship_cpu, intake_cpu = min(
                runs, key=lambda measured: measured[2]
            )
            assert shipped == count, f"shipped {shipped} lines of {count}"
            name = f"ship_job_run, {concurrent} in flight ({requests} requests)"
            print(f"{name:58} {count / ship_seconds:>10,.0f} {ship_seconds:8.2f} {ship_cpu:6.2f}")
            if intake_cpu is not None:
                print(f"{'  the intake stand-in (its own process)':58} {'':>10} {'':>8} {intake_cpu:6.2f}")
            print(f"  {ship_seconds / requests * 1000:.1f} ms of the run's wall time per request", flush=True)
        paired = statistics.median(r[3][2] / r[0][1] for r in rounds)
        paired_cpu = statistics.median(r[3][3] / r[0][2] for r in rounds)
        print(
            f"shipping ({DEFAULT_CONCURRENT_REQUESTS} in flight): {count / ship_seconds:,.0f} lines/s (target >= 100,000), "
            f"{paired:.1f}x the floor (target <= 2x; median of {REPEATS} rounds, each run against the floor "
            f"run before it; fastest against fastest {ship_seconds / floor_seconds:.1f}x), "
            f"{ship_seconds / client_seconds:.1f}x the client floor, {ship_seconds / tagged_seconds:.1f}x the tagged "
            f"floor (which is {tagged_seconds / floor_seconds:.1f}x the floor); "
            f"in CPU seconds {paired_cpu:.1f}x the floor (fastest against fastest {ship_cpu / floor_cpu:.1f}x)"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
