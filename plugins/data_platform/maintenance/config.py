"""The maintenance settings in ``include/maintenance/metadata.yaml`` as a pydantic model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from data_platform.config import load_yaml, validate_config

MAINTENANCE_FILE = "maintenance/metadata.yaml"


class CleanupConfig(BaseModel):
    """``airflow db clean`` arguments: rows older than ``retention_days`` days are deleted."""

    model_config = ConfigDict(extra="forbid")

    retention_days: int = Field(ge=1)
    tables: list[str] = Field(default_factory=list)
    exclude_dag_ids: list[str] = Field(default_factory=list)
    batch_size: int = Field(default=10000, ge=1)
    drop_archived: bool = True


class ExportConfig(BaseModel):
    """Where exports go: ``<lake_root>/<prefix>/<environment>/<export_id>/``."""

    model_config = ConfigDict(extra="forbid")

    prefix: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class MaintenanceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cleanup: CleanupConfig
    export: ExportConfig


def load_maintenance_config() -> MaintenanceConfig:
    """The validated ``include/maintenance/metadata.yaml``; a ConfigError names the bad field."""
    return validate_config(MaintenanceConfig, load_yaml(MAINTENANCE_FILE), f"include/{MAINTENANCE_FILE}")
