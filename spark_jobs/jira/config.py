"""The ingestion config (``include/jira/jira.yaml``), validated with pydantic."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from spark_jobs.common.lake import read_bytes
from spark_jobs.jira.jql import scope_clause

if TYPE_CHECKING:  # the sync (requests, tenacity) is not imported when a DAG reads the config
    from spark_jobs.jira.sync import SyncOptions

REQUIRED_FIELDS = ("updated", "status")


class ConfigError(ValueError):
    """The config file is invalid; the message names the file and the field."""


class WarehouseTables(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issues: str = "jira.issues"
    status_history: str = "jira.status_history"


class JiraConfig(BaseModel):
    """One Jira site's ingestion settings (see the comments in include/jira/jira.yaml)."""

    model_config = ConfigDict(extra="forbid")
    site: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    schedule: str = "@daily"
    projects: list[str] = []
    fields: list[str] = ["*all"]
    page_size: int = Field(100, ge=1, le=5000)
    lookback_minutes: int = Field(15, ge=1)
    changelog: bool = True
    max_paging_attempts: int = Field(3, ge=1)
    warehouse: WarehouseTables = WarehouseTables()

    @field_validator("projects")
    @classmethod
    def _projects(cls, value: list[str]) -> list[str]:
        scope_clause(value)  # raises on a key that is not a project key
        return value

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give ['*all'] or a list of field ids")
        if "*all" not in value:
            missing = [f for f in REQUIRED_FIELDS if f not in value]
            if missing:
                raise ValueError(f"the list must include {missing} (the sync and the tables need them)")
        return value

    def sync_options(self, **overrides: Any) -> SyncOptions:
        from spark_jobs.jira.sync import SyncOptions

        return SyncOptions(
            projects=tuple(self.projects),
            fields=tuple(self.fields),
            page_size=self.page_size,
            lookback=timedelta(minutes=self.lookback_minutes),
            changelog=self.changelog,
            max_paging_attempts=self.max_paging_attempts,
            **overrides,
        )


def parse_config(document: Any, origin: str) -> JiraConfig:
    try:
        return JiraConfig.model_validate(document)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in err.errors())
        raise ConfigError(f"{origin}: {problems}") from None


def load_config(uri: str) -> JiraConfig:
    """The config at ``uri`` (a path, file:// or s3://)."""
    return parse_config(yaml.safe_load(read_bytes(uri)), uri)
