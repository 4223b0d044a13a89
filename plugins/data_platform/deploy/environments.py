"""Several MWAA environments: which DAGs each one runs, so that every DAG runs in exactly one.

The config (``include/mwaa/environments.yaml`` for the product, ``--config`` for others)::

    expected_load:                 # DAG file -> task runs a day (default 1); CDC cadences are
      platform_smoke.py: 1         # counted as tables x runs a day of their cron
    environments:
      - name: data-platform-prod-a # the MWAA environment
        bucket: acme-mwaa-prod-a   # its source bucket (versioning enabled)
        region: eu-west-1
        artifacts_root: s3://acme-data-prod-artifacts/spark   # where its Spark jobs' artifacts go
        dag_files: [platform_smoke.py]   # pinned here (affinity)
        cdc_cadences: [10min]            # generated CDC DAGs (cdc_<cadence>) pinned here
        capacity: 2                      # share of the balanced load (e.g. mw1.large vs mw1.medium)
        balanced: true                   # takes units nobody pinned (default true)

The units placed are the DAG files of the bundle's dags folder and, for the generated CDC DAGs
(dags/cdc_pipelines.py, one DAG per cadence), each cadence. Pinned units go where they are
pinned; the others go, largest expected load first, to the balanced environment whose load per
capacity is lowest (ties: config order), so the split is deterministic. Each environment's
bundle holds only its DAG files, and its CDC index (and cadences file) only its cadences' tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from data_platform.cdc.pipeline import cadence_file
from data_platform.config import ConfigError, validate_config
from data_platform.deploy.bundle import CDC_CADENCES, CDC_INDEX, Bundle

CDC_DAG_FILE = "cdc_pipelines.py"
CDC_INDEX_KEY = f"include/{CDC_INDEX}"
CDC_CADENCES_KEY = f"include/{CDC_CADENCES}"


class MwaaEnvironment(BaseModel):
    """One MWAA environment and the DAGs pinned to it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    bucket: str
    region: str
    artifacts_root: str | None = None
    dag_files: list[str] = Field(default_factory=list)
    cdc_cadences: list[str] = Field(default_factory=list)
    capacity: float = Field(default=1.0, gt=0)
    balanced: bool = True


class EnvironmentsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environments: list[MwaaEnvironment] = Field(min_length=1)
    expected_load: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> EnvironmentsConfig:
        names = [e.name for e in self.environments]
        if len(set(names)) != len(names):
            raise ValueError(f"environment names must be unique: {names}")
        pinned: dict[str, str] = {}
        for env in self.environments:
            for unit in [*env.dag_files, *(cdc_unit(c) for c in env.cdc_cadences)]:
                if unit in pinned:
                    raise ValueError(
                        f"{unit} is pinned to both {pinned[unit]} and {env.name}; a DAG runs in one"
                    )
                pinned[unit] = env.name
        return self

    def environment(self, name: str) -> MwaaEnvironment:
        for env in self.environments:
            if env.name == name:
                return env
        raise ConfigError(
            f"no environment {name!r} in the config (known: {[e.name for e in self.environments]})"
        )


def load_environments(path: Path) -> EnvironmentsConfig:
    """The validated environments config at ``path``; raises ConfigError naming the file."""
    try:
        data: Any = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"environments config {path} does not exist (see include/mwaa/environments.yaml)"
        ) from None
    return validate_config(EnvironmentsConfig, data, str(path))


def cdc_unit(cadence: str) -> str:
    """The placement unit of a CDC cadence: ``cdc:<cadence>`` (its DAG is ``cdc_<cadence>``)."""
    return f"cdc:{cadence}"


def runs_per_day(cadence: str) -> float:
    """Runs a day of a CDC cadence: ``daily`` 1, ``hourly`` 24, ``<n>min`` 1440/n
    (the cadences of spark_jobs.cdc.table_config.cadence_to_cron)."""
    if cadence == "daily":
        return 1.0
    if cadence == "hourly":
        return 24.0
    return 1440.0 / int(cadence.removesuffix("min"))


def placement_units(bundle: Bundle, config: EnvironmentsConfig) -> dict[str, float]:
    """Unit -> expected task runs a day: the bundle's DAG files and its CDC cadences."""
    units = {
        key: config.expected_load.get(key, 1.0)
        for key in bundle.dags
        if "/" not in key and key.endswith(".py") and not key.startswith("_") and key != CDC_DAG_FILE
    }
    if CDC_DAG_FILE in bundle.dags:
        index = json.loads(bundle.dags[CDC_INDEX_KEY])
        for cadence, entry in index["cadences"].items():
            units[cdc_unit(cadence)] = len(entry["tables"]) * runs_per_day(cadence)
    return units


def assign(bundle: Bundle, config: EnvironmentsConfig) -> dict[str, list[str]]:
    """Environment name -> its units (sorted); every unit lands in exactly one environment.

    Raises ConfigError for a pin naming no unit of the bundle, or for units left over with no
    balanced environment to take them."""
    units = placement_units(bundle, config)
    shares: dict[str, list[str]] = {env.name: [] for env in config.environments}
    load = dict.fromkeys(shares, 0.0)
    for env in config.environments:
        for unit in [*env.dag_files, *(cdc_unit(c) for c in env.cdc_cadences)]:
            if unit not in units:
                raise ConfigError(
                    f"environment {env.name} pins {unit}, which the bundle does not have (units: {sorted(units)})"
                )
            shares[env.name].append(unit)
            load[env.name] += units[unit]
    placed = {unit for share in shares.values() for unit in share}
    balanced = [env for env in config.environments if env.balanced]
    left = sorted((u for u in units if u not in placed), key=lambda u: (-units[u], u))
    if left and not balanced:
        raise ConfigError(
            f"no environment is balanced: true, so {left} would run nowhere; pin them or balance one"
        )
    for unit in left:
        target = min(balanced, key=lambda env: (load[env.name] + units[unit]) / env.capacity)
        shares[target.name].append(unit)
        load[target.name] += units[unit]
    return {name: sorted(share) for name, share in shares.items()}


def _cdc_index_for(index_bytes: bytes, cadences: set[str]) -> bytes:
    from spark_jobs.cdc.table_index import index_bytes as dump

    index = json.loads(index_bytes)
    kept = {c: entry for c, entry in index["cadences"].items() if c in cadences}
    tables = {t for entry in kept.values() for t in entry["tables"]}
    index["cadences"] = kept
    index["tables"] = {t: fields for t, fields in index["tables"].items() if t in tables}
    return dump(index)


@dataclass(frozen=True)
class EnvironmentShare:
    environment: MwaaEnvironment
    units: list[str]
    bundle: Bundle


def environment_bundle(bundle: Bundle, units: list[str]) -> Bundle:
    """``bundle`` cut to ``units``: only their DAG files, the CDC DAG file only when a cadence
    is assigned, its index only with those cadences' tables; include/ and plugins unchanged."""
    cadences = {u.removeprefix("cdc:") for u in units if u.startswith("cdc:")}
    files = {u for u in units if not u.startswith("cdc:")} | ({CDC_DAG_FILE} if cadences else set())
    dags = {
        key: body
        for key, body in bundle.dags.items()
        if not ("/" not in key and key.endswith(".py")) or key in files
    }
    if CDC_INDEX_KEY in dags:
        dags[CDC_INDEX_KEY] = _cdc_index_for(dags[CDC_INDEX_KEY], cadences)
        dags[CDC_CADENCES_KEY] = cadence_file(json.loads(dags[CDC_INDEX_KEY]))
    return replace(bundle, dags=dags)


def shares(bundle: Bundle, config: EnvironmentsConfig) -> list[EnvironmentShare]:
    """Each environment with its units and its cut of ``bundle`` (config order)."""
    assigned = assign(bundle, config)
    return [
        EnvironmentShare(env, assigned[env.name], environment_bundle(bundle, assigned[env.name]))
        for env in config.environments
    ]
