"""Shared by the sweep (Spark) and the one-run shipper (pod/process): arguments and one run's pass."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from spark_jobs.common.args import positive_int_arg, uri_arg
from spark_jobs.common.lake import join_uri
from spark_jobs.common.lock import LakeLock, Lease
from spark_jobs.datadog_logs.api_key import resolve_connection
from spark_jobs.datadog_logs.checkpoint import STATE_FOLDER, read_checkpoint
from spark_jobs.datadog_logs.entries import RunContext
from spark_jobs.datadog_logs.intake import DEFAULT_CONCURRENT_REQUESTS, IntakeError, LogsIntake
from spark_jobs.datadog_logs.layout import JobRunLogs, LogFile, list_log_files
from spark_jobs.datadog_logs.metadata import RunMetadata, load_run_metadata
from spark_jobs.datadog_logs.shipper import DEFAULT_SETTLE_SECONDS, ship_job_run

log = logging.getLogger(__name__)
LOCK_TTL_SECONDS = 3600


def tag_arg(value: str) -> tuple[str, str]:
    key, sep, tag_value = value.partition(":")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected a tag as key:value, got {value!r}")
    return key, tag_value


def add_shipping_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lake-root", type=uri_arg, required=True, help="lake root (checkpoints in _state/datadog_logs)"
    )
    parser.add_argument("--service", default=None, help="Datadog service (default: the job name)")
    parser.add_argument("--env", default=None, help="env tag (default: the run's 'environment' tag)")
    parser.add_argument("--team", default=None, help="team tag (default: the run's 'team' tag)")
    parser.add_argument(
        "--tag", type=tag_arg, action="append", default=[], help="extra tag key:value (repeatable)"
    )
    parser.add_argument(
        "--secret-id", default=None, help="Secrets Manager secret with the Datadog connection (EMR)"
    )
    parser.add_argument(
        "--intake-url", default=None, help="intake base URL (default: the connection's host or site)"
    )
    parser.add_argument("--settle-minutes", type=float, default=DEFAULT_SETTLE_SECONDS / 60,
                        help="a file unchanged this long is final (its last record ships)")  # fmt: skip
    parser.add_argument(
        "--concurrent-requests",
        type=positive_int_arg,
        default=DEFAULT_CONCURRENT_REQUESTS,
        help="a run's log files shipped at once, one request in flight each",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def shipping_options(args: argparse.Namespace, final: bool | None) -> dict[str, Any]:
    """The picklable options a worker needs (no secret: each worker reads it itself)."""
    return {
        "lake_root": args.lake_root,
        "service": args.service,
        "env": args.env,
        "team": args.team,
        "tags": dict(args.tag),
        "secret_id": args.secret_id,
        "intake_url": args.intake_url,
        "settle_seconds": args.settle_minutes * 60,
        "concurrent_requests": args.concurrent_requests,
        "final": final,
        "lock_wait_seconds": 0 if final is None else 600,  # a post-run shipper waits for a sweep
    }


def run_context(metadata: RunMetadata, options: Mapping[str, Any]) -> RunContext:
    tags = {**metadata.tags, **options["tags"]}
    return RunContext(
        job_name=metadata.job_name,
        service=options["service"] or metadata.job_name,
        env=options["env"] or tags.get("environment"),
        team=options["team"] or tags.get("team"),
        job_tags=tags,
    )


def open_intake(options: Mapping[str, Any]) -> LogsIntake:
    connection = resolve_connection(options["secret_id"])
    return LogsIntake(
        connection.api_key,
        host=options["intake_url"] or connection.host,
        site=connection.site,
        max_connections=options["concurrent_requests"],
    )


def _lock(options: Mapping[str, Any], run: JobRunLogs) -> LakeLock:
    root = join_uri(options["lake_root"], STATE_FOLDER, run.application_id, run.job_run_id, "_lock")
    return LakeLock(root, ttl_seconds=LOCK_TTL_SECONDS)


def _acquire(lock: LakeLock, options: Mapping[str, Any]) -> Lease | None:
    deadline = time.monotonic() + options.get("lock_wait_seconds", 0)
    while True:
        lease = lock.acquire("datadog_logs")
        if lease is not None or time.monotonic() >= deadline:
            return lease
        time.sleep(5)


def all_shipped(files: Sequence[LogFile], lake_root: str) -> bool:
    """Every log file of a run is shipped as it is now (a run with no file yet is not: its logs
    may still come)."""
    return bool(files) and all(read_checkpoint(lake_root, f).up_to_date(f) for f in files)


def ship_one(
    intake: LogsIntake, run: JobRunLogs, options: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Ship one run under its lock (a sweep and a post-run shipper never ship the same run at once).

    A run whose files are all shipped costs a listing and its checkpoint reads: no lock, no
    ``GetJobRun``.
    """
    files = list_log_files(run)
    if all_shipped(files, options["lake_root"]):
        return {"application_id": run.application_id, "job_run_id": run.job_run_id, "up_to_date": len(files)}
    lock = _lock(options, run)
    lease = _acquire(lock, options)
    if lease is None:
        log.warning(
            "Job run %s/%s is being shipped by another shipper; skipped", run.application_id, run.job_run_id
        )
        return {"application_id": run.application_id, "job_run_id": run.job_run_id, "locked": True}
    try:
        metadata = load_run_metadata(run)
        final = options["final"]
        if final is None and metadata.ended:
            final = True
        result = ship_job_run(
            run,
            lake_root=options["lake_root"],
            intake=intake,
            context=run_context(metadata, options),
            final=final,
            settle_seconds=options["settle_seconds"],
            concurrent_requests=options["concurrent_requests"],
            now=now,
        )
        return asdict(result)
    except Exception as err:  # noqa: BLE001 - one run's failure is reported; the other runs still ship
        if not isinstance(err, IntakeError):
            log.exception("Job run %s/%s could not be shipped", run.application_id, run.job_run_id)
        reason = f"{type(err).__name__}: {err}"
        log.error("Job run %s/%s: %s", run.application_id, run.job_run_id, reason)
        return {"application_id": run.application_id, "job_run_id": run.job_run_id, "failed": reason}
    finally:
        lock.release(lease)


def ship_runs(runs: Iterable[tuple[str, str, str]], options: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Ship each ``(log_uri, application_id, job_run_id)``; one result dict per run, errors included."""
    now = datetime.now(UTC)
    with open_intake(options) as intake:
        for log_uri, application_id, job_run_id in runs:
            yield ship_one(intake, JobRunLogs(log_uri, application_id, job_run_id), options, now)


def failed(results: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Runs whose shipping failed or left errors (rewritten/corrupt files)."""
    return [r for r in results if r.get("failed") or r.get("errors")]
