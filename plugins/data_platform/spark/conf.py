"""Layered Spark configuration: platform defaults < environment < job profiles < artifact < task.

The layers and the rules (list-valued keys accumulate, ``null`` drops a key, AWS-only settings are
removed on the local target, credential-like keys are refused) are described at the top of
``include/spark/defaults.yaml``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator, model_validator

from data_platform.config import ConfigError, load_yaml, validate_config
from data_platform.settings import Target
from data_platform.url_credentials import url_credentials

DEFAULTS_FILE = "spark/defaults.yaml"
_REFERENCE = re.compile(r"\$\{(jvm|env|local_dir)(?::([^}]*))?\}")


@dataclass(frozen=True)
class ConfLayer:
    """One named source of Spark settings (``name`` shows up next to each key in the task log)."""

    name: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class SparkConf:
    """The merged Spark conf, with the layer each key came from and what the target dropped."""

    values: dict[str, str]
    origins: dict[str, str]
    dropped: tuple[str, ...] = ()

    def with_missing(self, origin: str, values: Mapping[str, str]) -> SparkConf:
        """Add the keys of ``values`` that are not set yet (an injected layer that never overrides)."""
        added = {k: v for k, v in values.items() if k not in self.values}
        return SparkConf(
            {**self.values, **added}, {**self.origins, **dict.fromkeys(added, origin)}, self.dropped
        )

    def with_openlineage_parent(self, context: Any) -> SparkConf:
        """Add the Airflow task run as OpenLineage parent (``spark.openlineage.parent*`` and the
        root parent, through the OpenLineage provider): the Spark agent's events and the job's
        own events (``spark_jobs.common.lineage.ParentRun``) then name the task run."""
        from airflow.providers.common.compat.openlineage.utils.spark import (
            inject_parent_job_information_into_spark_properties,
        )

        injected = inject_parent_job_information_into_spark_properties(dict(self.values), context)
        return self.with_missing("openlineage-parent", injected)

    def log_lines(self) -> list[str]:
        lines = [f"  {key}={self.values[key]}  [{self.origins[key]}]" for key in sorted(self.values)]
        lines += [f"  (dropped for this target) {entry}" for entry in self.dropped]
        return lines


def _conf_value(value: Any) -> Any:
    scalars = (str, int, float, bool)
    if value is None or isinstance(value, scalars):
        return value
    if isinstance(value, list) and all(isinstance(item, scalars) for item in value):
        return value
    raise ValueError(
        f"{value!r} is not a Spark conf value: use a string, number or boolean, a list of them "
        "(list keys), or null to drop the key"
    )


# A conf mapping of a defaults section: key -> value (see _conf_value).
ConfValues = dict[str, Annotated[Any, BeforeValidator(_conf_value)]]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _empty_section(cls, data: Any) -> Any:
        """An empty YAML section (``glue:`` with nothing under it) is null: read it as empty."""
        return {} if data is None else data

    @field_validator("*", mode="before")
    @classmethod
    def _empty_field(cls, value: Any, info: ValidationInfo) -> Any:
        """An empty field is its default (``{}``, ``()``), as if it were left out."""
        if value is None and info.field_name is not None:
            return cls.model_fields[info.field_name].get_default(call_default_factory=True)
        return value


class SparkProfile(_Section):
    """One entry of ``profiles:``: conf for every target, then the target's own section."""

    conf: ConfValues = {}
    aws: ConfValues = {}
    local: ConfValues = {}

    def values(self, target: Target) -> dict[str, Any]:
        return {**self.conf, **(self.aws if target is Target.AWS else self.local)}


class LocalExclude(_Section):
    """``local_exclude:``: keys (fnmatch patterns) and list entries removed on the local target."""

    keys: tuple[str, ...] = ()
    list_entries: tuple[str, ...] = ()


class ArtifactDefaults(_Section):
    """``artifacts:``: the Python and platform the dependency archive is built for."""

    deps_python_version: str = "3.11"
    deps_platform: str = "manylinux2014_x86_64"


class SparkDefaults(SparkProfile):
    """The parsed ``include/spark/defaults.yaml`` (its top comment describes the layers); unknown
    keys are refused, so a misspelt section fails the load instead of being ignored."""

    profiles: dict[str, SparkProfile] = {}
    list_keys: frozenset[str] = frozenset()
    local_exclude: LocalExclude = LocalExclude()
    secret_key_patterns: tuple[str, ...] = ()
    artifacts: ArtifactDefaults = ArtifactDefaults()

    @field_validator("secret_key_patterns")
    @classmethod
    def _lower_case(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(p.lower() for p in patterns)

    @classmethod
    def load(cls) -> SparkDefaults:
        """Read and validate the file; a ConfigError names every invalid field."""
        return validate_config(cls, load_yaml(DEFAULTS_FILE) or {}, f"include/{DEFAULTS_FILE}")

    def profile_layers(self, names: Iterable[str], target: Target) -> list[ConfLayer]:
        layers = []
        for name in names:
            if name not in self.profiles:
                raise ConfigError(
                    f"Spark profile {name!r} is not defined under 'profiles:' in "
                    f"include/{DEFAULTS_FILE} (defined: {sorted(self.profiles)})."
                )
            layers.append(ConfLayer(f"profile:{name}", self.profiles[name].values(target)))
        return layers


def _as_string(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ConfigError(f"Spark conf {key!r} has a {type(value).__name__} value; use a string or number.")


def _as_entries(key: str, value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [_as_string(key, item).strip() for item in items if str(item).strip()]


def merge_layers(layers: Sequence[ConfLayer], list_keys: frozenset[str]) -> SparkConf:
    """Apply ``layers`` in order: later layers win, list keys accumulate, ``None`` drops a key."""
    merged: dict[str, str | list[str]] = {}
    origins: dict[str, str] = {}
    for layer in layers:
        for key, value in layer.values.items():
            if value is None:
                merged.pop(key, None)
                origins.pop(key, None)
            elif key in list_keys:
                current = list(merged.get(key, []))
                merged[key] = current + [e for e in _as_entries(key, value) if e not in current]
                origins[key] = f"{origins[key]}+{layer.name}" if key in origins else layer.name
            else:
                merged[key] = _as_string(key, value)
                origins[key] = layer.name
    values = {k: ",".join(v) if isinstance(v, list) else v for k, v in merged.items()}
    values = {k: v for k, v in values.items() if v != ""}
    return SparkConf(values=values, origins={k: origins[k] for k in values})


def drop_for_local(conf: SparkConf, defaults: SparkDefaults) -> SparkConf:
    """Remove AWS-only keys and list entries (EMR jar paths, Glue, ``spark.emr-serverless.*``)."""
    values: dict[str, str] = {}
    dropped: list[str] = []
    for key, value in conf.values.items():
        if any(fnmatchcase(key, pattern) for pattern in defaults.local_exclude.keys):
            dropped.append(f"{key}={value}")
            continue
        if key in defaults.list_keys:
            entries = value.split(",")
            kept = [
                e for e in entries if not any(fnmatchcase(e, p) for p in defaults.local_exclude.list_entries)
            ]
            dropped += [f"{key} entry {e}" for e in entries if e not in kept]
            if not kept:
                continue
            value = ",".join(kept)
        values[key] = value
    origins = {k: conf.origins[k] for k in values}
    return SparkConf(values=values, origins=origins, dropped=tuple(dropped))


class _UnsetVariable(Exception):
    pass


def _resolve_reference(match: re.Match[str], env: Mapping[str, str]) -> str:
    kind, argument = match.group(1), (match.group(2) or "").strip()
    if kind == "local_dir":
        from data_platform.paths import local_dir

        return str(local_dir())
    if kind == "jvm":
        from data_platform.spark.jvm_packages import jar_path

        return str(jar_path(argument))
    for name in argument.split("|"):
        if env.get(name.strip()):
            return env[name.strip()]
    raise _UnsetVariable(argument)


def resolve_local_references(conf: SparkConf, env: Mapping[str, str] | None = None) -> SparkConf:
    """Resolve the local target's references in values (see include/spark/defaults.yaml).

    ``${jvm:<package>}`` is the fetched jar of a package pinned in include/spark/jvm-packages.yaml
    (a missing jar raises ``JvmPackageError`` naming the package and the fetch command),
    ``${local_dir}`` the local runtime folder, ``${env:A|B}`` the first of these environment
    variables that is set; a key whose variables are all unset is left out (and logged).
    """
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    dropped = list(conf.dropped)
    for key, value in conf.values.items():
        try:
            values[key] = _REFERENCE.sub(lambda m: _resolve_reference(m, env), value)
        except _UnsetVariable as unset:
            dropped.append(f"{key} (environment variable {unset} not set)")
    origins = {k: conf.origins[k] for k in values}
    return SparkConf(values=values, origins=origins, dropped=tuple(dropped))


def refuse_secrets(conf: SparkConf, defaults: SparkDefaults) -> None:
    for key, value in conf.values.items():
        found = url_credentials(value)
        if found:
            raise ConfigError(
                f"Spark conf {key!r} (from {conf.origins[key]}) holds a URL with a password or "
                f"another credential: {'; '.join(found)}. Secrets never go into Spark conf (it is "
                "logged and stored with the job run): let the job read them at run time with its "
                "execution role (Secrets Manager) instead."
            )
        if any(fnmatchcase(key.lower(), pattern) for pattern in defaults.secret_key_patterns):
            raise ConfigError(
                f"Spark conf {key!r} (from {conf.origins[key]}) looks like a credential. Secrets never "
                "go into Spark conf (it is logged and stored with the job run): let the job read them "
                "at run time with its execution role (Secrets Manager) instead."
            )


def build_spark_conf(
    *,
    target: Target,
    environment_conf: Mapping[str, Any],
    environment: str,
    profiles: Iterable[str],
    artifact: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    defaults: SparkDefaults | None = None,
) -> SparkConf:
    """Merge every layer for one job run on ``target`` and check the result."""
    defaults = defaults or SparkDefaults.load()
    layers = [
        ConfLayer("platform", defaults.values(target)),
        ConfLayer(f"environment:{environment}", environment_conf),
        *defaults.profile_layers(profiles, target),
        ConfLayer("artifact", artifact or {}),
        ConfLayer("task", overrides or {}),
    ]
    conf = merge_layers(layers, defaults.list_keys)
    if target is Target.LOCAL:
        conf = resolve_local_references(drop_for_local(conf, defaults))
    refuse_secrets(conf, defaults)
    return conf


def local_session_conf(profiles: Iterable[str] = ("hudi",), with_lineage: bool = False) -> dict[str, str]:
    """The local target's conf of a job with ``profiles``, for a SparkSession built in-process
    (tests, benchmarks) instead of through spark-submit: the same jars and Hudi settings. The
    OpenLineage listener and a local S3 endpoint are left out unless ``with_lineage``/set later."""
    conf = build_spark_conf(target=Target.LOCAL, environment="local", environment_conf={}, profiles=profiles)
    skipped = () if with_lineage else ("spark.openlineage.", "spark.extraListeners")
    return {
        k: v for k, v in conf.values.items() if not k.startswith((*skipped, "spark.hadoop.fs.s3a.endpoint"))
    }
