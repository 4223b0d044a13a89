"""Layered Spark configuration: platform defaults < environment < job profiles < artifact < task.

The layers and the rules (list-valued keys accumulate, ``null`` drops a key, AWS-only settings are
removed on the local target, credential-like keys are refused) are described at the top of
``include/spark/defaults.yaml``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from data_platform.config import ConfigError, load_yaml
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


@dataclass(frozen=True)
class SparkDefaults:
    """The parsed ``include/spark/defaults.yaml``."""

    conf: Mapping[str, Any]
    by_target: Mapping[str, Mapping[str, Any]]
    profiles: Mapping[str, Mapping[str, Any]]
    list_keys: frozenset[str]
    local_exclude_keys: tuple[str, ...]
    local_exclude_entries: tuple[str, ...]
    secret_key_patterns: tuple[str, ...]
    artifacts: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls) -> SparkDefaults:
        raw = load_yaml(DEFAULTS_FILE) or {}
        exclude = raw.get("local_exclude") or {}
        return cls(
            conf=raw.get("conf") or {},
            by_target={t.value: raw.get(t.value) or {} for t in Target},
            profiles=raw.get("profiles") or {},
            list_keys=frozenset(raw.get("list_keys") or ()),
            local_exclude_keys=tuple(exclude.get("keys") or ()),
            local_exclude_entries=tuple(exclude.get("list_entries") or ()),
            secret_key_patterns=tuple(p.lower() for p in raw.get("secret_key_patterns") or ()),
            artifacts=raw.get("artifacts") or {},
        )

    def profile_layers(self, names: Iterable[str], target: Target) -> list[ConfLayer]:
        layers = []
        for name in names:
            if name not in self.profiles:
                raise ConfigError(
                    f"Spark profile {name!r} is not defined under 'profiles:' in "
                    f"include/{DEFAULTS_FILE} (defined: {sorted(self.profiles)})."
                )
            profile = self.profiles[name] or {}
            values = {**(profile.get("conf") or {}), **(profile.get(target.value) or {})}
            layers.append(ConfLayer(f"profile:{name}", values))
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
        if any(fnmatchcase(key, pattern) for pattern in defaults.local_exclude_keys):
            dropped.append(f"{key}={value}")
            continue
        if key in defaults.list_keys:
            entries = value.split(",")
            kept = [e for e in entries if not any(fnmatchcase(e, p) for p in defaults.local_exclude_entries)]
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
        ConfLayer("platform", {**defaults.conf, **defaults.by_target[target.value]}),
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
