"""Declared inputs/outputs of a pod task, as OpenLineage datasets.

A task declares what its job reads and writes with dataset references:

- ``lake:<path>``: under the lake root of the current target (``s3://...`` on aws,
  ``file://...`` locally), e.g. ``lake:landing/dms/sales``;
- ``warehouse:<schema>.<table>``: a table of the warehouse connection (Redshift on aws,
  PostgreSQL locally);
- a URI: ``s3://bucket/key``, ``file:///abs/path``, ``postgres://host:port/db.schema.table``,
  ``redshift://cluster.region:port/db.schema.table``.

Namespaces and names follow the OpenLineage naming conventions: ``s3://bucket`` + key, ``file``
(``file://host``) + absolute path, ``postgres://host:port`` / ``redshift://cluster.region:port`` +
``db.schema.table``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from data_platform.config import ConfigError
from data_platform.lineage import naming

if TYPE_CHECKING:
    from data_platform.settings import PlatformSettings

URI_SCHEMES = ("s3", "file", "postgres", "redshift")
_TABLE = re.compile(r"[A-Za-z_][\w$]*\.[A-Za-z_][\w$]*")
_QUALIFIED_TABLE = re.compile(r"[A-Za-z_][\w$]*\.[A-Za-z_][\w$]*\.[A-Za-z_][\w$]*")


@dataclass(frozen=True)
class DatasetName:
    namespace: str
    name: str


def check_reference(field: str, ref: str) -> None:
    """Syntax check of one reference (no I/O); the error names the field and the accepted forms."""
    forms = "lake:<path>, warehouse:<schema>.<table>, s3://bucket/key, file:///path, postgres://host:port/db.schema.table"
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"{field}={ref!r} is not a dataset reference ({forms}).")
    kind, sep, rest = ref.partition(":")
    if kind == "lake" and sep and rest and not rest.startswith("//"):
        return
    if kind == "warehouse" and sep and _TABLE.fullmatch(rest):
        return
    if kind in URI_SCHEMES and rest.startswith("//"):
        parts = urlsplit(ref)
        path = parts.path.lstrip("/")
        if kind == "s3" and parts.netloc and path:
            return
        if kind == "file" and parts.path.startswith("/"):
            return
        if kind in ("postgres", "redshift") and parts.netloc and _QUALIFIED_TABLE.fullmatch(path):
            return
    raise ConfigError(f"{field}={ref!r} is not a dataset reference; use one of: {forms}.")


def _from_uri(uri: str) -> DatasetName:
    return DatasetName(*naming.from_uri(uri))


def _warehouse_table(table: str, settings: PlatformSettings) -> DatasetName:
    from airflow.providers.common.compat.sdk import BaseHook

    conn = BaseHook.get_connection(settings.warehouse_conn_id)
    database = conn.schema or ""
    schema, _, name = table.partition(".")
    if conn.conn_type == "redshift":
        cluster, region = naming.redshift_cluster_region(conn.host or "", settings.region)
        return DatasetName(*naming.redshift(cluster, region, conn.port, database, schema, name))
    return DatasetName(*naming.postgres(conn.host or "", conn.port, database, schema, name))


def dataset_name(ref: str, settings: PlatformSettings) -> DatasetName:
    """Namespace and name of a reference on the current target."""
    kind, _, rest = ref.partition(":")
    if kind == "lake":
        return _from_uri(settings.lake_uri(rest))
    if kind == "warehouse":
        return _warehouse_table(rest, settings)
    return _from_uri(ref)


def to_datasets(refs: Sequence[str], settings: PlatformSettings) -> list[Any]:
    """OpenLineage ``Dataset`` objects for the references."""
    from openlineage.client.event_v2 import Dataset

    names = [dataset_name(ref, settings) for ref in refs]
    return [Dataset(namespace=n.namespace, name=n.name) for n in names]
