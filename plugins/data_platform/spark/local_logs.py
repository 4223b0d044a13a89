"""Driver logs of local Spark runs, written in EMR Serverless's S3 layout.

So the log shipper (``spark_jobs.datadog_logs``) runs the same code on the local target:
``<local logUri>/applications/local/jobs/<jobRunId>/SPARK_DRIVER/{stdout.gz,stderr.gz}``
(local mode has no executors) plus ``job_run.json`` (``name``, ``tags``, ``state`` as in
GetJobRun's ``jobRun``: RUNNING while spark-submit runs, then SUCCESS or FAILED). The gzip
files are written while the job runs, so until it ends a reader sees a cut gzip stream, as
with EMR Serverless's periodic uploads. The local logUri is ``<local dir>/spark/logs``.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from data_platform.paths import local_dir

LOCAL_APPLICATION_ID = "local"
STREAMS = ("stdout", "stderr")


def local_log_uri() -> str:
    """The local target's logUri (``file://<local dir>/spark/logs``)."""
    return "file://" + str(local_dir() / "spark" / "logs")


class LocalRunLogs:
    """The log folder of one local spark-submit run (a new job run id per run)."""

    def __init__(self, name: str, tags: Mapping[str, str], log_uri: str | None = None) -> None:
        self.log_uri = log_uri or local_log_uri()
        self.job_run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:8]
        self.folder = Path(self.log_uri.removeprefix("file://")) / "applications" / LOCAL_APPLICATION_ID
        self.folder = self.folder / "jobs" / self.job_run_id
        self.name = name
        self.tags = dict(tags)
        self._files: dict[str, IO[str]] = {}

    def record(self) -> dict[str, str]:
        """What SparkJobOperator's XCom record says about the run's logs (as on EMR Serverless)."""
        return {
            "application_id": LOCAL_APPLICATION_ID,
            "job_run_id": self.job_run_id,
            "log_uri": self.log_uri,
        }

    def _write_metadata(self, state: str) -> None:
        metadata = {"name": self.name, "tags": self.tags, "state": state}
        (self.folder / "job_run.json").write_text(json.dumps(metadata, indent=2, sort_keys=True))

    def start(self) -> None:
        """Create the run's folder, ``job_run.json`` (RUNNING) and the open gzip files."""
        driver = self.folder / "SPARK_DRIVER"
        driver.mkdir(parents=True, exist_ok=True)
        self._write_metadata("RUNNING")
        for stream in STREAMS:
            self._files[stream] = gzip.open(driver / f"{stream}.gz", "wt", encoding="utf-8")

    def write(self, stream: str, line: str) -> None:
        """One line of ``stream`` (``stdout``/``stderr``; each stream is written by one thread):
        the ``on_output`` hook of :class:`data_platform.process.LocalProcess`."""
        self._files[stream].write(line + "\n")

    def finish(self, exit_code: int | None) -> None:
        """Close the gzip files; ``job_run.json`` says SUCCESS (exit code 0) or FAILED."""
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        self._write_metadata("SUCCESS" if exit_code == 0 else "FAILED")

