"""The target switch and the settings every pipeline needs.

Operators call :func:`get_settings` inside ``execute()``, never at DAG parse time, so one DAG
file runs unchanged on MWAA (``PIPELINE_TARGET=aws``) and locally (``PIPELINE_TARGET=local``).
This is the only module that reads the switch, and the one mechanism through which
target-dependent values (lake root, landing root, connection ids...) reach tasks: operators and
``@task`` functions call it when they run (there are no template macros for them).
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from data_platform.config import ConfigError, load_yaml, validate_config
from data_platform.paths import local_dir

TARGET_ENV_VAR = "PIPELINE_TARGET"
ENVIRONMENT_ENV_VAR = "PIPELINE_ENV"
ENVIRONMENTS_FILE = "platform/environments.yaml"

# Settings that an environment variable of the same name (upper case) may override.
_OVERRIDABLE = (
    "lake_root",
    "landing_root",
    "artifacts_root",
    "warehouse_conn_id",
    "aws_conn_id",
    "region",
)
# Settings in which "{local_dir}" expands to the local runtime folder.
_ROOTS = ("lake_root", "landing_root", "artifacts_root")
_ROOT_SCHEMES = ("file://", "s3://")


class Target(StrEnum):
    """Where tasks run: ``local`` (laptop, CI, docker compose) or ``aws`` (MWAA, EMR, EKS)."""

    LOCAL = "local"
    AWS = "aws"


class AlertSettings(BaseModel):
    """The ``alerts:`` block of an environment: connection ids and the SNS topic of alerts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slack_conn_id: str | None = None
    pagerduty_conn_id: str | None = None
    sns_topic_arn: str | None = None


class PlatformSettings(BaseModel):
    """One environment block of ``include/platform/environments.yaml`` plus the target and the
    environment's name; unknown keys are refused (a typo would otherwise silently fall back)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: Target
    environment: str
    lake_root: str = Field(description="file:// or s3:// URI of the lake")
    landing_root: str = Field(description="file:// or s3:// URI where sources (AWS DMS) drop files")
    artifacts_root: str = Field(description="file:// or s3:// URI of the deployed Spark artifacts")
    warehouse_conn_id: str
    aws_conn_id: str | None = None
    region: str = "eu-west-1"
    warehouse_copy_role_arn: str | None = None
    secrets: dict[str, str] = Field(
        default_factory=dict, description="logical name -> connection / secret id"
    )
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @field_validator(*_ROOTS)
    @classmethod
    def _a_file_or_s3_uri(cls, value: str) -> str:
        if not value.startswith(_ROOT_SCHEMES):
            raise ValueError(f"{value!r} must be a file:// or s3:// URI, e.g. 'file://{{local_dir}}/lake'")
        return value

    @property
    def is_local(self) -> bool:
        """True on the local target (laptop, CI, docker compose)."""
        return self.target is Target.LOCAL

    def secret_name(self, logical_name: str) -> str:
        """The connection / secret id behind a logical secret name such as ``jira``."""
        try:
            return self.secrets[logical_name]
        except KeyError:
            raise ConfigError(
                f"No secret named {logical_name!r} in environment {self.environment!r}; add it "
                f"under 'secrets:' in include/{ENVIRONMENTS_FILE} (known: {sorted(self.secrets)})."
            ) from None

    def lake_uri(self, *parts: str) -> str:
        """A URI under the lake root, e.g. ``lake_uri("cdc", "sales", "orders")``."""
        return "/".join([self.lake_root.rstrip("/"), *(p.strip("/") for p in parts)])


def get_target() -> Target:
    raw = os.environ.get(TARGET_ENV_VAR, Target.LOCAL.value).strip().lower()
    try:
        return Target(raw)
    except ValueError:
        raise ConfigError(
            f"{TARGET_ENV_VAR}={raw!r} is not a known target; set it to 'local' or 'aws'."
        ) from None


def get_settings() -> PlatformSettings:
    """Resolve the settings for the current process (call at task run time).

    Raises ConfigError naming the environment, the file and every invalid field."""
    target = get_target()
    default_env = "local" if target is Target.LOCAL else "dev"
    environment = os.environ.get(ENVIRONMENT_ENV_VAR, default_env)
    environments: dict[str, Any] = load_yaml(ENVIRONMENTS_FILE)
    if environment not in environments:
        raise ConfigError(
            f"{ENVIRONMENT_ENV_VAR}={environment!r} is not defined in include/{ENVIRONMENTS_FILE} "
            f"(defined: {sorted(environments)})."
        )
    block = dict(environments[environment] or {})
    if block.get("target") != target.value:
        raise ConfigError(
            f"Environment {environment!r} is for target {block.get('target')!r} but "
            f"{TARGET_ENV_VAR}={target.value!r}; set {ENVIRONMENT_ENV_VAR} to an environment "
            "of that target."
        )
    for key in _OVERRIDABLE:
        if os.environ.get(key.upper()):
            block[key] = os.environ[key.upper()]
    for key in _ROOTS:
        if isinstance(block.get(key), str):
            block[key] = block[key].format(local_dir=local_dir().as_posix())
    return validate_config(
        PlatformSettings,
        {**block, "environment": environment},
        f"Environment {environment!r} of include/{ENVIRONMENTS_FILE}",
    )
