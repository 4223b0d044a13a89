"""The target switch and the settings every pipeline needs.

Operators call :func:`get_settings` inside ``execute()``, never at DAG parse time, so one DAG
file runs unchanged on MWAA (``PIPELINE_TARGET=aws``) and locally (``PIPELINE_TARGET=local``).
This is the only module that reads the switch, and the one mechanism through which
target-dependent values (lake root, landing root, connection ids...) reach tasks: operators and
``@task`` functions call it when they run (there are no template macros for them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from data_platform.config import ConfigError, load_yaml
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


class Target(StrEnum):
    """Where tasks run: ``local`` (laptop, CI, docker compose) or ``aws`` (MWAA, EMR, EKS)."""

    LOCAL = "local"
    AWS = "aws"


@dataclass(frozen=True)
class AlertSettings:
    slack_conn_id: str | None = None
    pagerduty_conn_id: str | None = None
    sns_topic_arn: str | None = None


@dataclass(frozen=True)
class PlatformSettings:
    target: Target
    environment: str
    lake_root: str
    landing_root: str
    artifacts_root: str
    warehouse_conn_id: str
    aws_conn_id: str | None
    region: str
    warehouse_copy_role_arn: str | None
    secrets: Mapping[str, str] = field(default_factory=dict)
    alerts: AlertSettings = field(default_factory=AlertSettings)

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
    """Resolve the settings for the current process (call at task run time)."""
    target = get_target()
    default_env = "local" if target is Target.LOCAL else "dev"
    environment = os.environ.get(ENVIRONMENT_ENV_VAR, default_env)
    environments: dict[str, Any] = load_yaml(ENVIRONMENTS_FILE)
    if environment not in environments:
        raise ConfigError(
            f"{ENVIRONMENT_ENV_VAR}={environment!r} is not defined in include/{ENVIRONMENTS_FILE} "
            f"(defined: {sorted(environments)})."
        )
    block = dict(environments[environment])
    if block.get("target") != target.value:
        raise ConfigError(
            f"Environment {environment!r} is for target {block.get('target')!r} but "
            f"{TARGET_ENV_VAR}={target.value!r}; set {ENVIRONMENT_ENV_VAR} to an environment "
            "of that target."
        )
    for key in _OVERRIDABLE:
        if os.environ.get(key.upper()):
            block[key] = os.environ[key.upper()]
    expand = {"local_dir": local_dir().as_posix()}
    return PlatformSettings(
        target=target,
        environment=environment,
        lake_root=str(block["lake_root"]).format(**expand),
        landing_root=str(block["landing_root"]).format(**expand),
        artifacts_root=str(block["artifacts_root"]).format(**expand),
        warehouse_conn_id=block["warehouse_conn_id"],
        aws_conn_id=block.get("aws_conn_id"),
        region=block.get("region", "eu-west-1"),
        warehouse_copy_role_arn=block.get("warehouse_copy_role_arn"),
        secrets=MappingProxyType(dict(block.get("secrets") or {})),
        alerts=AlertSettings(**(block.get("alerts") or {})),
    )
