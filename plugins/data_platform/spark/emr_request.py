"""The StartJobRun request of one Spark job run (pure: no AWS calls)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from data_platform.config import ConfigError
from data_platform.spark.environments import EmrServerlessConfig
from data_platform.spark.identity import TaskRunIdentity

MIN_JOB_TIMEOUT_MINUTES = 5  # the service refuses shorter executionTimeoutMinutes
MAX_TAGS = 50
TAG_JOB = "spark-job"
TAG_VERSION = "spark-job-version"
_TAG_KEY = re.compile(r"^[A-Za-z0-9 /_.:=+@-]{1,128}$")
_TAG_VALUE = re.compile(r"^[A-Za-z0-9 /_.:=+@-]{0,256}$")
_RESERVED_PREFIXES = ("aws:", "airflow:")


def job_timeout_minutes(execution_timeout: timedelta) -> int:
    """The job's own ``executionTimeoutMinutes`` for the task's ``execution_timeout``."""
    return max(MIN_JOB_TIMEOUT_MINUTES, math.ceil(execution_timeout.total_seconds() / 60))


def job_tags(
    *,
    environment_tags: Mapping[str, str],
    task_tags: Mapping[str, str],
    identity: TaskRunIdentity,
    job: str,
    version: str,
) -> dict[str, str]:
    """Environment tags < task tags < the platform's identity tags (which cannot be overridden)."""
    for key, value in task_tags.items():
        if not _TAG_KEY.match(str(key)) or not _TAG_VALUE.match(str(value)):
            raise ConfigError(
                f"Tag {key!r}={value!r} is not a valid EMR Serverless tag (keys 1-128, values up to 256 "
                "characters of letters, digits, spaces and _ . : / = + - @)."
            )
        if str(key).startswith(_RESERVED_PREFIXES):
            raise ConfigError(f"Tag {key!r} uses a reserved prefix ({', '.join(_RESERVED_PREFIXES)}).")
    tags = {
        **{str(k): str(v) for k, v in environment_tags.items()},
        **{str(k): str(v) for k, v in task_tags.items()},
        TAG_JOB: job,
        TAG_VERSION: version,
        **identity.tags(),
    }
    if len(tags) > MAX_TAGS:
        raise ConfigError(f"A job run takes at most {MAX_TAGS} tags; this one would have {len(tags)}.")
    return tags


def build_start_job_run_request(
    *,
    emr: EmrServerlessConfig,
    identity: TaskRunIdentity,
    client_token: str,
    entry_point_uri: str,
    module: str,
    args: Sequence[str],
    spark_properties: Mapping[str, str],
    tags: Mapping[str, str],
    execution_timeout: timedelta,
) -> dict[str, Any]:
    """All Spark settings go into the ``spark-defaults`` classification (a map: no quoting)."""
    return {
        "applicationId": emr.application_id,
        "clientToken": client_token,
        "executionRoleArn": emr.execution_role_arn,
        "name": identity.job_name,
        "jobDriver": {
            "sparkSubmit": {
                "entryPoint": entry_point_uri,
                "entryPointArguments": [module, *(str(a) for a in args)],
            }
        },
        "configurationOverrides": {
            "applicationConfiguration": [
                {"classification": "spark-defaults", "properties": dict(spark_properties)}
            ],
            "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": f"{emr.log_uri}/"}},
        },
        "tags": dict(tags),
        "executionTimeoutMinutes": job_timeout_minutes(execution_timeout),
    }
