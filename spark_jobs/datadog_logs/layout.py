"""Where EMR Serverless writes the logs of a job run (FIELD-NOTES "EMR Serverless logs").

``<logUri>/applications/<appId>/jobs/<jobRunId>/SPARK_DRIVER/{stdout.gz,stderr.gz}``,
``.../SPARK_EXECUTOR/<n>/{stdout.gz,stderr.gz}``; with job retries (EMR 7.1+) the same below
``.../jobs/<jobRunId>/attempts/<n>/``. A run without an ``attempts/`` folder is attempt 1.
The local target's runner writes the same layout under a local logUri (``file://``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from spark_jobs.common.lake import filesystem, is_s3, join_uri, list_dir_names, normalize_uri

DRIVER = "SPARK_DRIVER"
EXECUTOR = "SPARK_EXECUTOR"
RUN_METADATA_FILE = "job_run.json"
"""Optional ``GetJobRun``-shaped metadata next to the logs (``name``, ``tags``); the local runner writes it."""

_RELATIVE = re.compile(
    r"^(?:attempts/(?P<attempt>\d+)/)?"
    r"(?P<worker_type>SPARK_DRIVER|SPARK_EXECUTOR)(?:/(?P<worker_id>[^/]+))?/"
    r"(?P<stream>stdout|stderr)\.gz$"
)


@dataclass(frozen=True)
class JobRunLogs:
    """The log folder of one job run: ``<log_uri>/applications/<application_id>/jobs/<job_run_id>``."""

    log_uri: str
    application_id: str
    job_run_id: str

    @property
    def prefix(self) -> str:
        return join_uri(self.log_uri, "applications", self.application_id, "jobs", self.job_run_id)


@dataclass(frozen=True)
class LogFile:
    """One ``stdout.gz`` / ``stderr.gz`` of a worker of a job run (attempt)."""

    run: JobRunLogs
    relative_path: str
    """Path below the run's folder, e.g. ``attempts/2/SPARK_EXECUTOR/3/stderr.gz``: the file's id."""
    attempt: int
    worker_type: str
    worker_id: str
    """``driver`` for the driver, the executor number otherwise."""
    stream: str
    size: int
    fingerprint: str
    """Changes when the object is rewritten (S3 ETag, or the local ``mtime_ns``)."""
    modified: datetime

    @property
    def uri(self) -> str:
        return join_uri(self.run.prefix, self.relative_path)


def parse_relative_path(relative_path: str) -> dict[str, Any] | None:
    """``attempts/2/SPARK_EXECUTOR/3/stderr.gz`` -> attempt 2, executor 3, stderr; None for other files."""
    match = _RELATIVE.match(relative_path)
    if match is None:
        return None
    worker_type = match["worker_type"]
    worker_id = match["worker_id"]
    if (worker_type == DRIVER) != (worker_id is None):
        return None
    return {
        "attempt": int(match["attempt"] or 1),
        "worker_type": worker_type,
        "worker_id": worker_id or "driver",
        "stream": match["stream"],
    }


def _modified(info: dict[str, Any]) -> datetime:
    value = info.get("LastModified") or info.get("last_modified")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(info.get("mtime") or info.get("created") or 0), tz=UTC)


def list_log_files(run: JobRunLogs) -> list[LogFile]:
    """The run's stdout/stderr files of every attempt and worker, sorted by path; other files ignored."""
    fs, root = filesystem(run.prefix)
    try:
        found = fs.find(root, detail=True)
    except FileNotFoundError:
        return []
    files = []
    for path, info in found.items():
        if info.get("type") == "directory":
            continue
        relative = path[len(root.rstrip("/")) + 1 :]
        parsed = parse_relative_path(relative)
        if parsed is None:
            continue
        etag = info.get("ETag") or info.get("etag")
        fingerprint = str(etag).strip('"') if etag else str(int(float(info.get("mtime", 0)) * 1e9))
        files.append(
            LogFile(
                run=run,
                relative_path=relative,
                size=int(info.get("size") or 0),
                fingerprint=fingerprint,
                modified=_modified(info),
                **parsed,
            )
        )
    return sorted(files, key=lambda f: f.relative_path)


def list_job_runs(log_uri: str, application_id: str | None = None) -> list[JobRunLogs]:
    """Every job run folder under ``log_uri`` (of one application, or of all)."""
    log_uri = normalize_uri(log_uri) if not is_s3(log_uri) else log_uri.rstrip("/")
    applications = [application_id] if application_id else list_dir_names(join_uri(log_uri, "applications"))
    runs = []
    for app in applications:
        for job_run_id in list_dir_names(join_uri(log_uri, "applications", app, "jobs")):
            runs.append(JobRunLogs(log_uri, app, job_run_id))
    return runs
