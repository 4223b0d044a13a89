"""The registry of Spark jobs (``include/spark/jobs.yaml``): version, package, entry points.

The version in that file is the one ``build``/``deploy`` publish; DAGs pin a major, minor or
exact version of it. Each job packages one importable folder (``package``, relative to the
repository root) whose modules listed in ``entry_points`` can be run as the job's main program.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from data_platform.config import ConfigError, load_yaml, validate_config
from data_platform.paths import REPO_ROOT, include_file
from data_platform.spark.versions import Version

JOBS_FILE = "spark/jobs.yaml"
_JOB_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def normalize_entry_point(entry_point: str) -> str:
    """``spark_jobs/cdc/merge.py`` or ``spark_jobs.cdc.merge`` -> ``spark_jobs.cdc.merge``."""
    text = entry_point.strip()
    if text.endswith(".py") or "/" in text:
        text = text.removesuffix(".py").strip("/").replace("/", ".")
    if not _MODULE.match(text):
        raise ConfigError(
            f"Entry point {entry_point!r} is neither a module ('spark_jobs.cdc.merge') nor a "
            "path to a .py file inside the job's package ('spark_jobs/cdc/merge.py')."
        )
    return text


def _version(value: Any) -> Version:
    return value if isinstance(value, Version) else Version.parse(value)


class JobSpec(BaseModel):
    """One job of ``include/spark/jobs.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: str = Field(pattern=_JOB_NAME.pattern)
    version: Annotated[Version, BeforeValidator(_version)]
    package: str = Field(min_length=1)
    entry_points: tuple[str, ...] = Field(min_length=1)
    profiles: tuple[str, ...] = ()
    requirements: str | None = None

    @field_validator("package")
    @classmethod
    def _package(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("entry_points", mode="before")
    @classmethod
    def _entry_points(cls, value: Any) -> tuple[str, ...]:
        return tuple(normalize_entry_point(str(e)) for e in value or ())

    @model_validator(mode="after")
    def _entry_points_in_package(self) -> JobSpec:
        outside = [e for e in self.entry_points if not e.startswith(self.package_name + ".")]
        if outside:
            raise ValueError(f"entry points {outside} are not modules of package {self.package_name!r}")
        return self

    @property
    def package_name(self) -> str:
        """The import name of the package (its folder name)."""
        return Path(self.package).name

    @property
    def package_dir(self) -> Path:
        return REPO_ROOT / self.package

    @property
    def source_root(self) -> Path:
        """The folder to put on ``PYTHONPATH`` so ``import <package_name>`` works."""
        return self.package_dir.parent

    @property
    def requirements_file(self) -> Path | None:
        return include_file(f"spark/{self.requirements}") if self.requirements else None

    def entry_module(self, entry_point: str | None) -> str:
        """The module to run: the given entry point (validated) or the job's first one."""
        if entry_point is None:
            return self.entry_points[0]
        module = normalize_entry_point(entry_point)
        if module not in self.entry_points:
            raise ConfigError(
                f"Entry point {module!r} is not declared for Spark job {self.name!r} "
                f"(declared: {list(self.entry_points)}); add it to 'entry_points' in "
                f"include/{JOBS_FILE} and release a new version."
            )
        return module


def load_jobs() -> dict[str, JobSpec]:
    raw = load_yaml(JOBS_FILE) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"include/{JOBS_FILE} must map job names to their settings.")
    return {
        name: validate_config(
            JobSpec, {**(block or {}), "name": name}, f"job {name!r} in include/{JOBS_FILE}"
        )
        for name, block in raw.items()
    }


def get_job(name: str) -> JobSpec:
    jobs = load_jobs()
    if name not in jobs:
        raise ConfigError(
            f"Spark job {name!r} is not defined in include/{JOBS_FILE} (defined: {sorted(jobs)})."
        )
    return jobs[name]
