"""OpenLineage dataset names: the platform's one set of rules (namespace, name).

Source: the OpenLineage naming conventions, https://openlineage.io/docs/spec/naming

=============  ======================================  ==============================
data store     namespace                               name
=============  ======================================  ==============================
S3             ``s3://{bucket}`` (s3a, s3n too)        ``{object key}`` (``/``: the bucket)
local files    ``file`` (``file://{host}`` elsewhere)  ``{absolute path}``
PostgreSQL     ``postgres://{host}:{port}`` (5432)     ``{database}.{schema}.{table}``
Redshift       ``redshift://{cluster}.{region}:{port}``  ``{database}.{schema}.{table}``
               (5439; the cluster identifier and region of the endpoint's host name)
HTTP API       ``{scheme}://{host}[:{port}]``          ``{path}`` (e.g. the Datadog logs intake)
=============  ======================================  ==============================

One file, two places: ``spark_jobs/common/naming.py`` is the source;
``plugins/data_platform/lineage/naming.py`` is a byte-identical copy, because the Airflow side
cannot import ``spark_jobs`` on MWAA and Spark jobs never import ``data_platform``.
tests/lineage/test_lineage_naming.py fails when the two differ. Standard library only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DatasetName = tuple[str, str]  # (namespace, name)

S3_SCHEMES = ("s3", "s3a", "s3n")
POSTGRES_PORT = 5432
REDSHIFT_PORT = 5439


def s3(bucket: str, key: str) -> DatasetName:
    """``("s3://{bucket}", key)``; the bucket itself is ``/``."""
    if not bucket:
        raise ValueError("An S3 dataset needs a bucket (s3://bucket/key).")
    return f"s3://{bucket}", key.strip("/") or "/"


def local_file(path: str, host: str = "") -> DatasetName:
    """``("file", path)``, or ``("file://{host}", path)`` for another host's files."""
    absolute = "/" + path.strip("/")
    return ("file" if host in ("", "localhost") else f"file://{host}"), absolute


def postgres(host: str, port: int | None, database: str, schema: str, table: str) -> DatasetName:
    return f"postgres://{host}:{port or POSTGRES_PORT}", f"{database}.{schema}.{table}"


def redshift_cluster_region(host: str, default_region: str) -> tuple[str, str]:
    """Cluster identifier (or workgroup) and region of a Redshift endpoint host name
    (``{cluster}.{id}.{region}.redshift[-serverless].amazonaws.com``); another host name takes
    ``default_region``."""
    labels = host.split(".")
    if len(labels) > 3 and labels[-2:] == ["amazonaws", "com"]:
        return labels[0], labels[2]
    return labels[0], default_region


def redshift(
    cluster: str, region: str, port: int | None, database: str, schema: str, table: str
) -> DatasetName:
    return f"redshift://{cluster}.{region}:{port or REDSHIFT_PORT}", f"{database}.{schema}.{table}"


def http(url: str) -> DatasetName:
    """``("{scheme}://{host}[:{port}]", path)`` of an HTTP(S) endpoint (no query, no credentials)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL.")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}", parts.path or "/"


def from_uri(uri: str) -> DatasetName:
    """The dataset of a URI: ``s3://bucket/key``, ``file:///path``, ``/path``,
    ``postgres://host:port/db.schema.table``, ``redshift://cluster.region:port/db.schema.table``,
    ``http(s)://host/path``. ValueError names the accepted forms otherwise."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in S3_SCHEMES:
        return s3(parts.netloc, parts.path)
    if scheme == "file" or (not scheme and uri.startswith("/")):
        return local_file(parts.path, parts.netloc)
    if scheme in ("http", "https"):
        return http(uri)
    table = parts.path.strip("/").split(".")
    if scheme in ("postgres", "postgresql") and parts.hostname and len(table) == 3:
        return postgres(parts.hostname, parts.port, *table)
    if scheme == "redshift" and parts.hostname and len(table) == 3:
        return f"redshift://{parts.hostname}:{parts.port or REDSHIFT_PORT}", ".".join(table)
    raise ValueError(
        f"No OpenLineage dataset name for {uri!r}; use s3://bucket/key, file:///path, "
        "postgres://host:port/db.schema.table, redshift://cluster.region:port/db.schema.table or an http(s) URL."
    )
