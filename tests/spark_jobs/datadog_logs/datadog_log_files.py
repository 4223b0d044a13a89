"""Write EMR Serverless-shaped log files for the shipper's tests."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from spark_jobs.datadog_logs.layout import JobRunLogs

APP = "00ftestapp0001"
API_KEY = "test-api-key-0123456789abcdef"


def run_folder(log_root: Path, job_run_id: str, app: str = APP) -> Path:
    return log_root / "applications" / app / "jobs" / job_run_id


def write_log(
    log_root: Path,
    job_run_id: str,
    relative: str,
    text: str | bytes,
    *,
    cut_bytes: int = 0,
    age_seconds: float = 3600,
    app: str = APP,
) -> Path:
    """Gzip ``text`` to ``<run>/<relative>``; ``cut_bytes`` drops the stream's last bytes (an upload in progress)."""
    path = run_folder(log_root, job_run_id, app) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    data = gzip.compress(text.encode() if isinstance(text, str) else text)
    path.write_bytes(data[: len(data) - cut_bytes] if cut_bytes else data)
    stamp = path.stat().st_mtime - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def write_metadata(log_root: Path, job_run_id: str, name: str, tags: dict[str, str], app: str = APP) -> None:
    folder = run_folder(log_root, job_run_id, app)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "job_run.json").write_text(json.dumps({"name": name, "tags": tags}))


def job_run(log_root: Path, job_run_id: str, app: str = APP) -> JobRunLogs:
    return JobRunLogs("file://" + str(log_root), app, job_run_id)
