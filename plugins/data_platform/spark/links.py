"""Extra links of a Spark task: the driver logs in S3 and (opt-in) the Spark UI of the run.

Airflow 3 resolves operator links on the worker when the task ends and stores the URL in XCom,
so ``get_link`` reads the run the operator recorded during ``execute``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlparse

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


def s3_console_url(uri: str, region: str) -> str:
    """The S3 console page of a folder (``s3://bucket/prefix/``)."""
    parsed = urlparse(uri)
    prefix = quote(parsed.path.lstrip("/").rstrip("/") + "/", safe="/")
    return f"https://console.aws.amazon.com/s3/buckets/{parsed.netloc}?region={region}&prefix={prefix}"


def _record(operator: Any) -> dict[str, Any]:
    return getattr(operator, "spark_job_run", None) or {}


class SparkDriverLogsLink(BaseOperatorLink):
    name = "Spark driver logs (S3)"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        record = _record(operator)
        if not record.get("driver_log_uri"):
            return ""
        return s3_console_url(record["driver_log_uri"], record.get("region", "eu-west-1"))


class SparkDashboardLink(BaseOperatorLink):
    """The one-time Spark UI URL of GetDashboardForJobRun (valid one hour; opt-in per environment)."""

    name = "Spark UI (EMR Serverless)"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return _record(operator).get("dashboard_url", "")
