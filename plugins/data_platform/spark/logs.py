"""Driver logs of an EMR Serverless job run, read from its S3 log location when the run ends.

Layout: ``<logUri>/applications/<appId>/jobs/<jobRunId>/SPARK_DRIVER/{stdout.gz,stderr.gz}``, or
``.../jobs/<jobRunId>/attempts/<n>/SPARK_DRIVER/...`` for a run retried by the service.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from airflow.providers.amazon.aws.links.emr import get_serverless_log_uri

STREAMS = ("stdout", "stderr")


def driver_log_prefixes(log_uri: str, job_run: Mapping[str, Any]) -> list[str]:
    """Where the driver logs of ``job_run`` may be, most specific first."""
    base = get_serverless_log_uri(
        s3_log_uri=log_uri.rstrip("/"),
        application_id=job_run["applicationId"],
        job_run_id=job_run["jobRunId"],
    )
    attempt = job_run.get("attempt")
    prefixes = [f"{base}/attempts/{attempt}/SPARK_DRIVER"] if attempt else []
    return [*prefixes, f"{base}/SPARK_DRIVER"]


@dataclass(frozen=True)
class DriverLogs:
    prefix: str
    lines: dict[str, list[str]]  # stream -> last lines
    truncated: dict[str, int]  # stream -> lines left out at the start


def _tail(data: bytes, limit: int) -> tuple[list[str], int]:
    try:
        text = gzip.decompress(data).decode("utf-8", errors="replace")
    except (OSError, EOFError, zlib.error):
        text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    return lines[-limit:], max(0, len(lines) - limit)


def fetch_driver_logs(
    s3_client: Any, log_uri: str, job_run: Mapping[str, Any], tail_lines: int
) -> DriverLogs | None:
    """The last ``tail_lines`` of the driver's stdout and stderr, or None if none were written."""
    from botocore.exceptions import ClientError

    for prefix in driver_log_prefixes(log_uri, job_run):
        found: dict[str, bytes] = {}
        for stream in STREAMS:
            parsed = urlparse(f"{prefix}/{stream}.gz")
            try:
                response = s3_client.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
            except ClientError as err:
                if err.response["Error"]["Code"] in ("NoSuchKey", "404"):
                    continue
                raise
            found[stream] = response["Body"].read()
        if found:
            tails = {stream: _tail(data, tail_lines) for stream, data in found.items()}
            return DriverLogs(
                prefix=prefix,
                lines={stream: lines for stream, (lines, _) in tails.items()},
                truncated={stream: cut for stream, (_, cut) in tails.items()},
            )
    return None
