"""The Datadog API key, read from a secret at run time (never from arguments or Spark conf).

Convention of the platform's secrets (``data_platform.pod.secret_refs``): the environment
variable ``DATADOG_CONN`` holds the Airflow connection (JSON: ``password`` = the API key,
optional ``host`` = the intake URL, ``extra.site`` = the Datadog site). Pods get it from their
Kubernetes Secret, local processes and local Spark from the Airflow connection (masked).
On EMR Serverless, where no secret reaches the job's environment, the job reads the
Secrets Manager secret named by ``DATADOG_CONN_SECRET_ID`` (or ``--secret-id``) with its
execution role: the Airflow connection as MWAA's Secrets Manager backend stores it (JSON, or a
connection URI whose password is the key).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

ENV_VAR = "DATADOG_CONN"
SECRET_ID_ENV_VAR = "DATADOG_CONN_SECRET_ID"


class MissingApiKey(Exception):
    """No secret found, or the secret has no password."""


@dataclass(frozen=True)
class DatadogConnection:
    api_key: str = field(repr=False)
    host: str | None = None
    site: str | None = None

    def __repr__(self) -> str:  # never the key
        return f"DatadogConnection(host={self.host!r}, site={self.site!r}, api_key=***)"


def parse_connection(value: str, source: str) -> DatadogConnection:
    """An Airflow connection (JSON or URI) -> the key, intake host (``schema`` = its protocol,
    https by default) and site (``extra.site``)."""
    value = value.strip()
    if value.startswith("{"):
        raw: dict[str, Any] = json.loads(value)
        extra = raw.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else {}
        password, host = raw.get("password"), raw.get("host")
        port, schema = raw.get("port"), raw.get("schema")
    else:
        parts = urlsplit(value)
        password = unquote(parts.password) if parts.password else None
        host, port, extra = parts.hostname, parts.port, {}
        schema = parts.path.strip("/") or None  # Airflow's URI form: the schema is the path
    if not password:
        raise MissingApiKey(f"The Datadog connection from {source} has no password (the API key); set it.")
    if host and "://" not in host:
        host = f"{schema or 'https'}://{host}" + (f":{port}" if port else "")
    return DatadogConnection(api_key=str(password), host=host or None, site=extra.get("site"))


def resolve_connection(secret_id: str | None = None) -> DatadogConnection:
    """``DATADOG_CONN``, else the Secrets Manager secret ``secret_id`` / ``DATADOG_CONN_SECRET_ID``."""
    value = os.environ.get(ENV_VAR)
    if value:
        return parse_connection(value, f"environment variable {ENV_VAR}")
    secret_id = secret_id or os.environ.get(SECRET_ID_ENV_VAR)
    if not secret_id:
        raise MissingApiKey(
            f"No Datadog secret: set {ENV_VAR} (the datadog secret of the task) or name the Secrets "
            f"Manager secret with --secret-id / {SECRET_ID_ENV_VAR}."
        )
    import boto3

    secret = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    return parse_connection(secret, f"Secrets Manager secret {secret_id}")
