"""The OpenLineage transport of an environment, from ``include/lineage/transport.yaml``.

One configuration gives the transport of the Airflow OpenLineage provider
(``[openlineage] transport``) and the catalogs the processing DAG pushes to: raw events as files under the lake (openlineage-python's
``file`` transport, one file per event; on S3 through fsspec), HTTP to Marquez
(``/api/v1/lineage``) or DataHub (``/openapi/openlineage/api/v1/lineage``), several at once
through the ``composite`` transport. API keys never appear in the configuration: a catalog's
``secret`` names an Airflow connection whose password :class:`ConnectionTokenProvider` reads when
an event is sent. A catalog's ``url`` may be ``${env:NAME}``, the value of environment variable
``NAME`` when the configuration is read (the local demo's catalog stand-in listens on a free
port and sets it); a catalog whose variable is unset is left out, as Spark conf's ``${env:...}``
values are (include/spark/defaults.yaml).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from openlineage.client.transport.http import TokenProvider
from pydantic import BaseModel, ConfigDict

from data_platform.config import ConfigError, read_yaml, validate_config
from data_platform.paths import include_file

TRANSPORT_FILE = "lineage/transport.yaml"
ENDPOINTS = {
    "marquez": "api/v1/lineage",
    "datahub": "openapi/openlineage/api/v1/lineage",
}
RAW_EVENT_PREFIX = "event"
_ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")

log = logging.getLogger(__name__)


class Catalog(BaseModel):
    """An HTTP consumer of OpenLineage events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["marquez", "datahub"]
    url: str
    secret: str | None = None
    retries: int = 3

    @property
    def endpoint(self) -> str:
        return ENDPOINTS[self.kind]


class LineageConfig(BaseModel):
    """One environment's block of include/lineage/transport.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    raw_events: str | None = None
    catalogs: tuple[Catalog, ...] = ()
    push: tuple[str, ...] | None = None

    def raw_events_uri(self, lake_root: str) -> str | None:
        """The raw events folder with ``{lake_root}`` expanded (no trailing slash)."""
        if self.raw_events is None:
            return None
        return self.raw_events.format(lake_root=lake_root.rstrip("/")).rstrip("/")

    def push_catalogs(self) -> tuple[Catalog, ...]:
        """The catalogs the processing DAG pushes column lineage to (``push``, default all)."""
        if self.push is None:
            return self.catalogs
        known = {c.name: c for c in self.catalogs}
        missing = [name for name in self.push if name not in known]
        if missing:
            raise ConfigError(
                f"push names unknown catalogs {missing} in include/{TRANSPORT_FILE}; known: {sorted(known)}."
            )
        return tuple(known[name] for name in self.push)

    def with_env(self, env: Mapping[str, str]) -> LineageConfig:
        """This configuration with each ``${env:NAME}`` of a catalog URL replaced by ``env[NAME]``;
        a catalog naming an unset (or empty) variable is left out, and logged."""
        kept: list[Catalog] = []
        for catalog in self.catalogs:
            unset = [name for name in _ENV_REFERENCE.findall(catalog.url) if not env.get(name)]
            if unset:
                log.info("Lineage catalog %r left out: %s not set", catalog.name, ", ".join(unset))
                continue
            url = _ENV_REFERENCE.sub(lambda match: env[match.group(1)], catalog.url)
            kept.append(catalog.model_copy(update={"url": url}))
        return self.model_copy(update={"catalogs": tuple(kept)})


def read_lineage_config(path: Path, environment: str, env: Mapping[str, str] | None = None) -> LineageConfig:
    """The block of ``environment`` in the transport file ``path``, ``${env:NAME}`` resolved from
    ``env`` (default: this process's environment); a ConfigError names the file and the defined
    blocks."""
    blocks: dict[str, Any] = read_yaml(path) or {}
    if environment not in blocks:
        raise ConfigError(f"Environment {environment!r} has no block in {path} (defined: {sorted(blocks)}).")
    config = validate_config(LineageConfig, blocks[environment], f"{path} [{environment}]")
    return config.with_env(os.environ if env is None else env)


def load_lineage_config(environment: str) -> LineageConfig:
    """The block of ``environment`` in include/lineage/transport.yaml of the include path."""
    return read_lineage_config(include_file(TRANSPORT_FILE), environment)


class ConnectionTokenProvider(TokenProvider):
    """Bearer token from the password of an Airflow connection (``conn_id``), read per request
    (so a rotated secret is picked up, and the key is never in the transport configuration)."""

    def __init__(self, config: dict[str, str]) -> None:
        super().__init__(config)
        self.conn_id = config["conn_id"]

    def get_bearer(self) -> str | None:
        from airflow.providers.common.compat.sdk import BaseHook

        password = BaseHook.get_connection(self.conn_id).password
        return f"Bearer {password}" if password else None


def http_transport(catalog: Catalog, secret_conn_id: str | None) -> dict[str, Any]:
    """openlineage-python ``http`` transport of one catalog."""
    transport: dict[str, Any] = {
        "type": "http",
        "url": catalog.url.rstrip("/"),
        "endpoint": catalog.endpoint,
        "timeout": 5,
        "retry": {"total": catalog.retries},
    }
    if secret_conn_id:
        transport["auth"] = {
            "type": f"{ConnectionTokenProvider.__module__}.{ConnectionTokenProvider.__name__}",
            "conn_id": secret_conn_id,
        }
    return transport


def file_transport(raw_events_uri: str) -> dict[str, Any]:
    """openlineage-python ``file`` transport writing one ``event-<timestamp>.json`` per event."""
    path = raw_events_uri.removeprefix("file://")
    return {"type": "file", "log_file_path": f"{path}/{RAW_EVENT_PREFIX}", "append": False}


def transport_config(
    config: LineageConfig, lake_root: str, secret_names: dict[str, str] | None = None
) -> dict[str, Any]:
    """The OpenLineage transport dict: one transport, or ``composite`` of several (every
    transport is tried, a catalog outage never loses the raw event); ``noop`` when nothing is
    configured. ``secret_names`` maps logical secret names to connection ids."""
    transports: list[dict[str, Any]] = []
    raw = config.raw_events_uri(lake_root)
    if raw:
        transports.append({"name": "lake", **file_transport(raw)})
    for catalog in config.catalogs:
        conn_id = None
        if catalog.secret:
            names = secret_names or {}
            if catalog.secret not in names:
                raise ConfigError(
                    f"Catalog {catalog.name!r} names secret {catalog.secret!r}, which the environment "
                    f"does not define under 'secrets:' (known: {sorted(names)})."
                )
            conn_id = names[catalog.secret]
        transports.append({"name": catalog.name, **http_transport(catalog, conn_id)})
    if not transports:
        return {"type": "noop"}
    if len(transports) == 1:
        return {k: v for k, v in transports[0].items() if k != "name"}
    return {"type": "composite", "continue_on_failure": True, "transports": transports}
