"""Container resources (requests / limits): checked with the Kubernetes client's quantity parser."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from data_platform.config import ConfigError

SECTIONS = ("requests", "limits")
STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def parse_quantity(field: str, value: Any) -> Decimal:
    """Parse a Kubernetes quantity (``250m``, ``4Gi``, ``2``), naming ``field`` when it is invalid."""
    from kubernetes.utils.quantity import parse_quantity as k8s_parse_quantity

    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{field}={value!r} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi).")
    try:
        quantity = k8s_parse_quantity(value)
    except ValueError:
        raise ConfigError(
            f"{field}={value!r} is not a Kubernetes quantity: use e.g. 500m or 2 for cpu and "
            "512Mi or 4Gi for memory (binary suffixes Ki/Mi/Gi, decimal k/M/G)."
        ) from None
    if not quantity.is_finite():
        raise ConfigError(f"{field}={value!r} is not a finite quantity (e.g. 500m, 2, 512Mi, 4Gi).")
    if quantity < 0:
        raise ConfigError(f"{field}={value!r} is negative; resources must be zero or more.")
    return quantity


def check_resource_name(field: str, name: str) -> None:
    """Kubernetes resource names: the standard ones, ``hugepages-<size>``, or an extended
    resource with a domain (``nvidia.com/gpu``); a misspelt ``memroy`` would be ignored by the cluster."""
    from kubernetes.utils.quantity import parse_quantity as k8s_parse_quantity

    if name in STANDARD_RESOURCES or "/" in name:
        return
    if name.startswith("hugepages-"):
        try:
            k8s_parse_quantity(name.removeprefix("hugepages-"))
            return
        except ValueError:
            pass
    raise ConfigError(
        f"{field}: {name!r} is not a Kubernetes resource; use {', '.join(STANDARD_RESOURCES)}, "
        "hugepages-<size> or an extended resource such as nvidia.com/gpu."
    )


def check_resources(resources: Mapping[str, Any], *, field: str = "resources") -> dict[str, dict[str, str]]:
    """Validate requests/limits and return them as ``{"requests": {...}, "limits": {...}}`` of strings.

    Every quantity must parse, and no request may exceed the limit of the same resource.
    """
    unknown = sorted(set(resources) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{field} has unknown sections {unknown}; only 'requests' and 'limits' exist.")
    checked: dict[str, dict[str, str]] = {}
    parsed: dict[str, dict[str, Decimal]] = {}
    for section in SECTIONS:
        values = resources.get(section) or {}
        if not isinstance(values, Mapping):
            raise ConfigError(f"{field}.{section} must be a mapping such as {{cpu: 500m, memory: 1Gi}}.")
        checked[section] = {}
        parsed[section] = {}
        for name, value in values.items():
            check_resource_name(f"{field}.{section}.{name}", str(name))
            parsed[section][name] = parse_quantity(f"{field}.{section}.{name}", value)
            checked[section][name] = str(value)
    for name, request in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and request > limit:
            raise ConfigError(
                f"{field}.requests.{name}={checked['requests'][name]} exceeds "
                f"{field}.limits.{name}={checked['limits'][name]}; lower the request or raise the limit."
            )
    return checked


def to_kubernetes(resources: Mapping[str, Mapping[str, str]]):
    """The checked resources as a ``V1ResourceRequirements`` for the pod's base container."""
    from kubernetes.client import models as k8s

    return k8s.V1ResourceRequirements(
        requests=dict(resources.get("requests") or {}) or None,
        limits=dict(resources.get("limits") or {}) or None,
    )
