"""Per-environment Spark settings (``include/spark/environments.yaml``, keyed by PIPELINE_ENV)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from data_platform.config import ConfigError, load_yaml, validate_config
from data_platform.settings import PlatformSettings, Target

ENVIRONMENTS_FILE = "spark/environments.yaml"
RoleArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")]


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmrServerlessConfig(_Block):
    """The EMR Serverless application a job runs on, and how the operator talks to it.

    ``aws_conn_id``: the AWS connection of the EMR Serverless and S3 calls (an application in
    another account: a connection with a ``role_arn`` extra); None = the platform's connection.
    """

    application_id: str = Field(min_length=1)
    execution_role_arn: RoleArn
    log_uri: str = Field(pattern=r"^s3://")
    aws_conn_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    reattach_lookback_hours: int = Field(default=72, gt=0)
    dashboard_links: bool = False
    openlineage_parent_job_info: bool = True

    @field_validator("log_uri")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class LocalSparkConfig(_Block):
    master: str = "local[2]"


class SparkEnvironment(_Block):
    name: str
    conf: dict[str, Any] = Field(default_factory=dict)
    emr: EmrServerlessConfig | None = None
    local: LocalSparkConfig | None = None

    def require_emr(self) -> EmrServerlessConfig:
        if self.emr is None:
            raise ConfigError(
                f"Environment {self.name!r} has no 'emr:' block in include/{ENVIRONMENTS_FILE}; add "
                "application_id, execution_role_arn and log_uri to run Spark jobs on EMR Serverless."
            )
        return self.emr


def load_spark_environment(settings: PlatformSettings) -> SparkEnvironment:
    """The Spark settings of ``settings.environment`` (call at task run time).

    :raises ConfigError: the environment is not defined or its block is invalid.
    """
    environments = load_yaml(ENVIRONMENTS_FILE) or {}
    name = settings.environment
    if name not in environments:
        raise ConfigError(
            f"Environment {name!r} is not defined in include/{ENVIRONMENTS_FILE} "
            f"(defined: {sorted(environments)})."
        )
    block = dict(environments[name] or {})
    # Only the current target's block is read (an aws environment needs no local block, and back).
    block.pop("local" if settings.target is Target.AWS else "emr", None)
    if settings.target is Target.LOCAL:
        block.setdefault("local", {})
    return validate_config(
        SparkEnvironment, {**block, "name": name}, f"Environment {name!r} in include/{ENVIRONMENTS_FILE}"
    )
