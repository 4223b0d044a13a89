"""Job name, tags and state of a job run: from ``job_run.json`` next to its logs, else EMR Serverless GetJobRun.

The local runner writes ``job_run.json`` (``{"name", "tags", "state"}``, the shape of GetJobRun's
``jobRun``) in the run's log folder; on EMR Serverless the job's execution role reads the run
(``emr-serverless:GetJobRun``). ``spark-job`` (set by SparkJobOperator) is the job name when present.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spark_jobs.common.lake import is_s3, join_uri, read_json
from spark_jobs.datadog_logs.layout import RUN_METADATA_FILE, JobRunLogs

TAG_JOB = "spark-job"
log = logging.getLogger(__name__)


TERMINAL_STATES = frozenset({"SUCCESS", "FAILED", "CANCELLED"})


@dataclass(frozen=True)
class RunMetadata:
    name: str | None
    tags: Mapping[str, str] = field(default_factory=dict)
    state: str | None = None

    @property
    def ended(self) -> bool:
        """The run is over: its log files are final (EMR Serverless uploads them when the run ends)."""
        return self.state in TERMINAL_STATES

    @property
    def job_name(self) -> str:
        return str(self.tags.get(TAG_JOB) or self.name or "unknown")


def _from_emr(run: JobRunLogs) -> RunMetadata | None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        job_run: dict[str, Any] = boto3.client("emr-serverless").get_job_run(
            applicationId=run.application_id, jobRunId=run.job_run_id
        )["jobRun"]
    except (BotoCoreError, ClientError) as err:
        log.warning(
            "GetJobRun %s/%s failed (%s); shipping without its tags", run.application_id, run.job_run_id, err
        )
        return None
    return RunMetadata(job_run.get("name"), dict(job_run.get("tags") or {}), job_run.get("state"))


def load_run_metadata(run: JobRunLogs) -> RunMetadata:
    """The run's metadata; a run with none found ships as job ``unknown`` (and says so in the log)."""
    raw = read_json(join_uri(run.prefix, RUN_METADATA_FILE))
    if isinstance(raw, dict):
        tags = {str(k): str(v) for k, v in (raw.get("tags") or {}).items()}
        return RunMetadata(raw.get("name"), tags, raw.get("state"))
    if is_s3(run.prefix):
        found = _from_emr(run)
        if found is not None:
            return found
    log.warning("No metadata for job run %s/%s: job name 'unknown'", run.application_id, run.job_run_id)
    return RunMetadata(None, {})
