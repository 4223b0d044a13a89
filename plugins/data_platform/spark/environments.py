"""Per-environment Spark settings (``include/spark/environments.yaml``, keyed by PIPELINE_ENV)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from data_platform.config import ConfigError, load_yaml
from data_platform.settings import PlatformSettings, Target

ENVIRONMENTS_FILE = "spark/environments.yaml"
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


@dataclass(frozen=True)
class EmrServerlessConfig:
    """The EMR Serverless application a job runs on, and how the operator talks to it."""

    application_id: str
    execution_role_arn: str
    log_uri: str
    assume_role_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    reattach_lookback_hours: int = 72
    dashboard_links: bool = False
    openlineage_parent_job_info: bool = True


@dataclass(frozen=True)
class LocalSparkConfig:
    master: str = "local[2]"


@dataclass(frozen=True)
class SparkEnvironment:
    name: str
    conf: Mapping[str, Any]
    emr: EmrServerlessConfig | None = None
    local: LocalSparkConfig | None = None

    def require_emr(self) -> EmrServerlessConfig:
        if self.emr is None:
            raise ConfigError(
                f"Environment {self.name!r} has no 'emr:' block in include/{ENVIRONMENTS_FILE}; add "
                "application_id, execution_role_arn and log_uri to run Spark jobs on EMR Serverless."
            )
        return self.emr


def _emr_config(name: str, block: Mapping[str, Any]) -> EmrServerlessConfig:
    where = f"'emr:' of environment {name!r} in include/{ENVIRONMENTS_FILE}"
    missing = [k for k in ("application_id", "execution_role_arn", "log_uri") if not block.get(k)]
    if missing:
        raise ConfigError(f"{where} is missing {missing}.")
    for key in ("execution_role_arn", "assume_role_arn"):
        if block.get(key) and not _ROLE_ARN.match(str(block[key])):
            raise ConfigError(f"{where}: {key} {block[key]!r} is not an IAM role ARN.")
    if not str(block["log_uri"]).startswith("s3://"):
        raise ConfigError(f"{where}: log_uri must be an s3:// URI, got {block['log_uri']!r}.")
    return EmrServerlessConfig(
        application_id=str(block["application_id"]),
        execution_role_arn=str(block["execution_role_arn"]),
        log_uri=str(block["log_uri"]).rstrip("/"),
        assume_role_arn=block.get("assume_role_arn") or None,
        tags={str(k): str(v) for k, v in (block.get("tags") or {}).items()},
        reattach_lookback_hours=int(block.get("reattach_lookback_hours", 72)),
        dashboard_links=bool(block.get("dashboard_links", False)),
        openlineage_parent_job_info=bool(block.get("openlineage_parent_job_info", True)),
    )


def load_spark_environment(settings: PlatformSettings) -> SparkEnvironment:
    """The Spark settings of ``settings.environment`` (call at task run time)."""
    environments = load_yaml(ENVIRONMENTS_FILE) or {}
    name = settings.environment
    if name not in environments:
        raise ConfigError(
            f"Environment {name!r} is not defined in include/{ENVIRONMENTS_FILE} "
            f"(defined: {sorted(environments)})."
        )
    block = environments[name] or {}
    if settings.target is Target.AWS:
        return SparkEnvironment(name, block.get("conf") or {}, emr=_emr_config(name, block.get("emr") or {}))
    local = block.get("local") or {}
    return SparkEnvironment(name, block.get("conf") or {}, local=LocalSparkConfig(**local))
