"""Naming rules for pod tasks: task ids, pod names and the labels every pod carries.

Pure string functions (no I/O), so :class:`~data_platform.pod.operators.PlatformPodOperator` can enforce the
task-id and label rules in its constructor and a DAG breaking them fails its integrity test
before it is deployed.
"""

from __future__ import annotations

import hashlib
import re

# A task id is snake_case; task-group prefixes are joined with "." by Airflow.
TASK_ID_SEGMENT = re.compile(r"[a-z][a-z0-9_]*")
MAX_TASK_ID_LENGTH = 63  # fits a Kubernetes label value unchanged

# team / pipeline label values: lowercase DNS-1123 labels, e.g. "data-eng", "cdc".
IDENTIFIER = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")

DNS1123_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")

POD_NAME_MAX_LENGTH = 63
# The provider appends "-" + 8 random characters to the name we give it.
POD_NAME_SUFFIX_LENGTH = 9
POD_BASE_NAME_MAX_LENGTH = POD_NAME_MAX_LENGTH - POD_NAME_SUFFIX_LENGTH

REQUIRED_LABELS = ("team", "pipeline", "owner", "dag_id", "task_id")


class NamingRuleError(ValueError):
    """A task id, team, pipeline or owner breaks the naming rules; the message says what to change."""


def suggest_snake_case(value: str) -> str:
    """A snake_case version of ``value`` to put in error messages (``DiscoverFiles`` -> ``discover_files``)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", value)
    snake = re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")
    if not snake or not snake[0].isalpha():
        snake = f"task_{snake}".rstrip("_")
    return snake[:MAX_TASK_ID_LENGTH].rstrip("_")


def suggest_identifier(value: str) -> str:
    """A lowercase, dash-separated version of ``value`` (``Data Eng`` -> ``data-eng``)."""
    dashed = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return dashed[:63].strip("-") or "my-team"


def check_task_id(task_id: str) -> None:
    """Raise :class:`NamingRuleError` unless ``task_id`` is snake_case and short enough."""
    segments = task_id.split(".")
    if len(task_id) <= MAX_TASK_ID_LENGTH and all(TASK_ID_SEGMENT.fullmatch(s) for s in segments):
        return
    leaf = segments[-1]
    suggestion = ".".join([*segments[:-1], suggest_snake_case(leaf)])
    raise NamingRuleError(
        f"task_id {task_id!r} breaks the pod task naming rule: task ids are snake_case "
        f"(lowercase letters, digits and '_', starting with a letter; task-group prefixes joined "
        f"by '.') and at most {MAX_TASK_ID_LENGTH} characters long. Rename the task, e.g. to "
        f"{suggestion!r}."
    )


def check_identifier(field: str, value: str | None, *, how_to_set: str) -> str:
    """Check a team / pipeline value and return it; the error says how to set or fix it."""
    if not value:
        raise NamingRuleError(f"{field!r} is required for pod tasks: {how_to_set}.")
    if not IDENTIFIER.fullmatch(value):
        raise NamingRuleError(
            f"{field}={value!r} is not a valid name: use lowercase letters, digits and '-', "
            f"starting with a letter, at most 63 characters, e.g. {suggest_identifier(value)!r}."
        )
    return value


def check_owner(owner: str | None, default_owner: str) -> str:
    """The owner must name a person or team, not Airflow's placeholder default."""
    if not owner or owner == default_owner:
        raise NamingRuleError(
            f"owner is required for pod tasks and may not be Airflow's default {default_owner!r}: "
            "set owner='<your name or team>' on the task or in the DAG's default_args."
        )
    return owner


def safe_label_value(value: str) -> str:
    """A valid Kubernetes label value, made the same way as the provider makes its own labels."""
    from airflow.providers.cncf.kubernetes.pod_generator import make_safe_label_value

    return make_safe_label_value(value)


def pod_base_name(dag_id: str, task_id: str) -> str:
    """Pod name (before the provider's random suffix) derived from the DAG and task ids.

    The result is a DNS-1123 label of at most 54 characters, so with the provider's ``-xxxxxxxx``
    suffix it stays within 63. Long names are cut and get a short hash of the full name, so two
    tasks of the same long DAG id keep distinct pod names.
    """
    full = f"{dag_id}-{task_id}"
    slug = re.sub(r"[^a-z0-9]+", "-", full.lower()).strip("-") or "pod"
    if len(slug) <= POD_BASE_NAME_MAX_LENGTH:
        return slug
    digest = hashlib.sha1(full.encode(), usedforsecurity=False).hexdigest()[:8]
    head = slug[: POD_BASE_NAME_MAX_LENGTH - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}"
