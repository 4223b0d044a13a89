"""Pod profiles: the Kubernetes settings a task inherits (``include/pod/profiles/<name>.yaml``).

A profile holds everything a DAG author should not repeat per task: namespace, service account,
cluster connection, node placement, resources, timeouts, clean-up actions, labels and
annotations, deferrable mode. ``extends: <other>`` deep-merges the file over another profile:
mappings merge key by key, lists and scalars replace, ``null`` removes the key, and a ``cluster``
block replaces the parent's whole. ``abstract: true`` marks a profile that only exists to be
extended; ``abstract`` and ``description`` are not inherited.

Read and validated at task run time only (pydantic), never while a DAG file is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from data_platform.config import ConfigError, load_yaml_dir
from data_platform.paths import include_file
from data_platform.pod.naming import DNS1123_LABEL, LABEL_VALUE
from data_platform.pod.resources import check_resources

PROFILES_DIR = "pod/profiles"
NOT_INHERITED = ("abstract", "description")
# Blocks that describe one choice: a profile that sets them replaces the parent's block whole.
REPLACED_WHOLE = ("cluster",)

_LABEL_KEY_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"


def _check_label_key(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if re.fullmatch(_LABEL_KEY_NAME, name) and (not prefix or len(prefix) <= 253):
        return key
    raise ValueError(f"{key!r} is not a valid Kubernetes label/annotation key")


class ClusterConnection(BaseModel):
    """How Airflow reaches the cluster (see the module docstring of ``data_platform.pod``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["connection", "in_cluster", "kubeconfig"]
    kubernetes_conn_id: str | None = None
    config_file: str | None = None
    cluster_context: str | None = None

    @model_validator(mode="after")
    def _fields_match_mode(self) -> ClusterConnection:
        if self.mode == "connection" and not self.kubernetes_conn_id:
            raise ValueError("mode 'connection' needs kubernetes_conn_id (an Airflow kubernetes connection)")
        if self.mode == "kubeconfig" and not self.config_file:
            raise ValueError("mode 'kubeconfig' needs config_file (absolute or relative to include/)")
        if self.mode != "connection" and self.kubernetes_conn_id:
            raise ValueError(f"kubernetes_conn_id is only used with mode 'connection', not {self.mode!r}")
        if self.mode != "kubeconfig" and (self.config_file or self.cluster_context):
            raise ValueError(
                f"config_file/cluster_context are only used with mode 'kubeconfig', not {self.mode!r}"
            )
        return self

    def operator_kwargs(self) -> dict[str, Any]:
        """The KubernetesPodOperator attributes that select the cluster."""
        if self.mode == "connection":
            return {
                "kubernetes_conn_id": self.kubernetes_conn_id,
                "in_cluster": None,
                "config_file": None,
                "cluster_context": None,
            }
        if self.mode == "in_cluster":
            return {
                "kubernetes_conn_id": None,
                "in_cluster": True,
                "config_file": None,
                "cluster_context": None,
            }
        config_file = Path(self.config_file or "")
        if not config_file.is_absolute():
            config_file = include_file(config_file.as_posix())
        return {
            "kubernetes_conn_id": None,
            "in_cluster": False,
            "config_file": str(config_file),
            "cluster_context": self.cluster_context,
        }


class PodProfile(BaseModel):
    """A resolved (``extends`` applied) and validated profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    abstract: bool = False
    namespace: str
    service_account: str
    cluster: ClusterConnection
    node_selector: dict[str, str] = Field(default_factory=dict)
    affinity: dict[str, Any] | None = None
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    resources: dict[str, dict[str, str]]
    startup_timeout_seconds: PositiveInt
    on_finish_action: Literal["delete_pod", "delete_succeeded_pod", "delete_active_pod", "keep_pod"]
    on_kill_action: Literal["delete_pod", "keep_pod"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    deferrable: bool = False

    @field_validator("namespace", "service_account")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not DNS1123_LABEL.fullmatch(value):
            raise ValueError(f"{value!r} is not a DNS-1123 label (lowercase letters, digits, '-', max 63)")
        return value

    @field_validator("resources", mode="before")
    @classmethod
    def _resources(cls, value: Any) -> dict[str, dict[str, str]]:
        if not isinstance(value, Mapping):
            raise ValueError("resources must be a mapping with 'requests' and/or 'limits'")
        return check_resources(value)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, label in value.items():
            _check_label_key(key)
            if not LABEL_VALUE.fullmatch(label) or len(label) > 63:
                raise ValueError(f"label {key}={label!r} is not a valid Kubernetes label value")
        return value

    @field_validator("annotations", "node_selector")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            _check_label_key(key)
        return value

    @model_validator(mode="after")
    def _kubernetes_shapes(self) -> PodProfile:
        kubernetes_objects(self)
        return self


def kubernetes_objects(profile: PodProfile) -> tuple[Any, list[Any]]:
    """``(V1Affinity | None, [V1Toleration])`` from the profile's manifest-shaped YAML.

    Deserialized with the provider's own pod deserializer, then serialized back: a key the
    Kubernetes API does not know (a typo) would otherwise be dropped silently, so any difference
    is an error.
    """
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
    from kubernetes.client import ApiClient

    spec: dict[str, Any] = {"containers": [], "tolerations": profile.tolerations}
    if profile.affinity is not None:
        spec["affinity"] = profile.affinity
    try:
        pod = PodGenerator.deserialize_model_dict({"spec": spec})
    except (ValueError, TypeError) as err:
        raise ValueError(f"affinity/tolerations are not valid Kubernetes objects: {err}") from None
    client = ApiClient()
    if (
        profile.affinity is not None
        and client.sanitize_for_serialization(pod.spec.affinity) != profile.affinity
    ):
        raise ValueError(
            "affinity has keys or values the Kubernetes API does not accept (write it as in a pod "
            "manifest, camelCase, e.g. nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution)"
        )
    if client.sanitize_for_serialization(pod.spec.tolerations or []) != profile.tolerations:
        raise ValueError(
            "tolerations have keys the Kubernetes API does not accept (each is {key, operator, "
            "value, effect, tolerationSeconds})"
        )
    return pod.spec.affinity, list(pod.spec.tolerations or [])


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key, ``null`` removes a key, anything else (lists, scalars) replaces."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _raw_profiles() -> dict[str, Any]:
    return load_yaml_dir(PROFILES_DIR)


def _resolve(name: str, raw: Mapping[str, Any], chain: tuple[str, ...] = ()) -> dict[str, Any]:
    if name in chain:
        raise ConfigError(f"Pod profiles extend each other in a cycle: {' -> '.join([*chain, name])}.")
    if name not in raw:
        where = f"profile {chain[-1]!r} extends" if chain else "unknown pod profile"
        raise ConfigError(
            f"{where} {name!r}: no file include/{PROFILES_DIR}/{name}.yaml "
            f"(known profiles: {', '.join(sorted(raw))})."
        )
    data = raw[name]
    if not isinstance(data, Mapping):
        raise ConfigError(f"include/{PROFILES_DIR}/{name}.yaml must hold a mapping of profile settings.")
    own = {key: value for key, value in data.items() if key != "extends"}
    parent = data.get("extends")
    if parent is None:
        return own
    inherited = {
        k: v for k, v in _resolve(str(parent), raw, (*chain, name)).items() if k not in NOT_INHERITED
    }
    merged = deep_merge(inherited, own)
    merged.update({key: own[key] for key in REPLACED_WHOLE if own.get(key) is not None})
    return merged


def _validate(name: str, resolved: Mapping[str, Any]) -> PodProfile:
    try:
        return PodProfile.model_validate({**resolved, "name": name})
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(profile)'}: {e['msg'].removeprefix('Value error, ')}"
            for e in err.errors()
        )
        raise ConfigError(
            f"Pod profile {name!r} (include/{PROFILES_DIR}/{name}.yaml, after extends) is invalid: {problems}."
        ) from None


def get_profile(name: str) -> PodProfile:
    """The profile a task asked for, resolved and validated; abstract profiles are refused."""
    raw = _raw_profiles()
    profile = _validate(name, _resolve(name, raw))
    if profile.abstract:
        usable = sorted(n for n, p in load_profiles().items() if not p.abstract)
        raise ConfigError(
            f"Pod profile {name!r} is abstract (only for 'extends:'); use one of: {', '.join(usable)}."
        )
    return profile


def load_profiles() -> dict[str, PodProfile]:
    """Every profile in include/pod/profiles/, resolved and validated (for checks and tests)."""
    raw = _raw_profiles()
    return {name: _validate(name, _resolve(name, raw)) for name in raw}
