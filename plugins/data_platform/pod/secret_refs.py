"""Secrets of pod tasks, referenced by logical name (``secrets=["jira"]``) and resolved at run time.

Convention, the same on both targets: the job reads the environment variable ``<NAME>_CONN``
(``JIRA_CONN`` for ``jira``) holding the Airflow connection in Airflow's JSON form
(``{"conn_type", "host", "login", "password", "schema", "port", "extra"}``).

- ``aws``: ``get_settings().secret_name("jira")`` is the connection id (``jira_api``); the pod
  gets ``JIRA_CONN`` from key ``conn`` of the Kubernetes Secret with that id in DNS form
  (``jira-api``), e.g. synced from Secrets Manager by External Secrets. Only names reach the
  pod spec; values never pass through Airflow.
- ``local``: the Airflow connection ``jira_api`` is read at run time and passed to the local
  process as ``JIRA_CONN``; the value, the password and sensitive extras are masked in logs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from data_platform.config import ConfigError

if TYPE_CHECKING:
    from data_platform.settings import PlatformSettings

KUBERNETES_SECRET_KEY = "conn"
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?")


def env_var_name(logical_name: str) -> str:
    """``jira`` -> ``JIRA_CONN``, ``lineage-api`` -> ``LINEAGE_API_CONN``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", logical_name).strip("_").upper() + "_CONN"


def kubernetes_secret_name(secret_id: str) -> str:
    """The Kubernetes Secret holding connection ``secret_id`` (``jira_api`` -> ``jira-api``)."""
    name = secret_id.lower().replace("_", "-")
    if not _DNS_SUBDOMAIN.fullmatch(name):
        raise ConfigError(
            f"Secret id {secret_id!r} cannot name a Kubernetes Secret (DNS-1123 subdomain); rename it "
            "in include/platform/environments.yaml under 'secrets:'."
        )
    return name


def check_names(names: Sequence[str]) -> None:
    """Each logical name once, and no two mapping to the same environment variable."""
    seen: dict[str, str] = {}
    for name in names:
        if not name or not isinstance(name, str):
            raise ConfigError(f"secrets: {name!r} is not a logical secret name such as 'jira'.")
        var = env_var_name(name)
        if var in seen:
            raise ConfigError(f"secrets: {seen[var]!r} and {name!r} both map to environment variable {var}.")
        seen[var] = name


def pod_secrets(names: Sequence[str], settings: PlatformSettings) -> list[Any]:
    """Provider ``Secret`` objects: env var ``<NAME>_CONN`` from key ``conn`` of the Kubernetes Secret."""
    from airflow.providers.cncf.kubernetes.secret import Secret

    check_names(names)
    return [
        Secret(
            deploy_type="env",
            deploy_target=env_var_name(name),
            secret=kubernetes_secret_name(settings.secret_name(name)),
            key=KUBERNETES_SECRET_KEY,
        )
        for name in names
    ]


def local_secret_env(names: Sequence[str], settings: PlatformSettings) -> dict[str, str]:
    """``{"JIRA_CONN": "<connection JSON>"}`` read from Airflow connections, every value masked."""
    from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook, mask_secret

    check_names(names)
    env: dict[str, str] = {}
    for name in names:
        conn_id = settings.secret_name(name)
        try:
            conn = BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            raise ConfigError(
                f"secrets: {name!r} resolves to connection {conn_id!r}, which is not defined; add it "
                f"(e.g. environment variable AIRFLOW_CONN_{conn_id.upper()} or `airflow connections add`)."
            ) from None
        value = conn.as_json()
        mask_secret(value)
        if conn.password:
            mask_secret(conn.password)
        mask_secret(conn.extra_dejson)
        env[env_var_name(name)] = value
    return env
