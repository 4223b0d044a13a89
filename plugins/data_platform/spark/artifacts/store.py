"""Where deployed artifacts live: a local folder (``file://``) or S3 (``s3://``), same layout.

One code path through fsspec (``fsspec.core.url_to_fs``): ``create`` is an exclusive write (``open(..., "xb")``:
``O_EXCL`` locally, ``If-None-Match: *`` on S3), so an exact version's object is never replaced
with different content and two deploys racing for one version cannot both win. ``put`` replaces
(used for the ``X.Y`` / ``X`` aliases).
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import urlencode

from data_platform.spark.artifacts.manifest import ArtifactError, sha256

SCHEMES = ("s3://", "file://")


class ArtifactStore:
    """The artifacts under ``root`` through its fsspec filesystem (``fsspec.core.url_to_fs``, as
    the Spark jobs reach the lake); ``storage_options`` for it (S3: ``session``, ``endpoint_url``,
    ``client_kwargs``; the local filesystem ignores them). A filesystem of its own (not fsspec's
    instance cache): a store outlives no change of credentials or endpoint."""

    def __init__(self, root: str, **storage_options: Any) -> None:
        from fsspec.core import url_to_fs

        self.root = root.rstrip("/")
        self.fs, path = url_to_fs(self.root, skip_instance_cache=True, **storage_options)
        self.path = path.rstrip("/")
        self._folders = "file" in self.fs.protocol  # S3 keys need no folders (and no bucket made)

    def uri(self, key: str) -> str:
        return f"{self.root}/{key}"

    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        try:
            return bytes(self.fs.cat_file(f"{self.path}/{key}"))
        except FileNotFoundError:
            return None

    def _write(self, key: str, data: bytes, tags: dict[str, str] | None, mode: str) -> None:
        extra = {"Tagging": urlencode(tags)} if tags else {}  # S3 object tags
        path = f"{self.path}/{key}"
        if self._folders:
            self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        with self.fs.open(path, mode, **extra) as handle:
            handle.write(data)

    def put(self, key: str, data: bytes, tags: dict[str, str] | None = None) -> None:
        """Write ``data`` at ``key``, replacing what is there."""
        self._write(key, data, tags, "wb")

    def create(self, key: str, data: bytes, tags: dict[str, str] | None = None) -> bool:
        """Write ``data`` unless ``key`` exists; True if written, False if the same bytes were there."""
        try:
            self._write(key, data, tags, "xb")
        except FileExistsError:
            existing = self.read(key)
            if existing is not None and sha256(existing) == sha256(data):
                return False
            raise ArtifactError(
                f"{self.uri(key)} already exists with different content. Published versions are "
                "immutable: bump the version in include/spark/jobs.yaml and deploy again."
            ) from None
        return True


def open_store(root: str, *, aws_conn_id: str | None = None, region: str | None = None) -> ArtifactStore:
    """The store at ``root`` (``s3://bucket/prefix``, ``file:///folder`` or ``/folder``); S3 in
    ``region``, with the credentials (a role in its extras included) and endpoint of the Airflow
    connection ``aws_conn_id`` as the provider's S3 filesystem takes them, else boto's default
    chain."""
    if not root.startswith((*SCHEMES, "/")):
        raise ArtifactError(
            f"artifacts_root {root!r} must be an s3:// or file:// URI (include/platform/environments.yaml)."
        )
    options: dict[str, Any] = {"client_kwargs": {"region_name": region}} if region else {}
    if aws_conn_id:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        hook = S3Hook(aws_conn_id=aws_conn_id, region_name=region)
        options["session"] = hook.get_session(deferrable=True)
        options["endpoint_url"] = hook.conn_config.get_service_endpoint_url(service_name="s3")
    return ArtifactStore(root, **options)
