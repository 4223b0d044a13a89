"""Where deployed artifacts live: a local folder (``file://``) or S3 (``s3://``), same layout.

One code path through fsspec (the filesystem of Airflow's ``ObjectStoragePath``, a UPath, as the
lake code reaches its storage): ``create`` is an exclusive write (``open(..., "xb")``:
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
    """The artifacts under ``root``, through the fsspec filesystem of Airflow's
    ``ObjectStoragePath`` (a UPath; the lake code's way): on S3 with the credentials, role and
    endpoint of the AWS connection ``aws_conn_id`` (None: boto's default chain), ``storage_options``
    for the filesystem (``region_name``: the botocore client's region)."""

    def __init__(self, root: str, aws_conn_id: str | None = None, **storage_options: Any) -> None:
        from airflow.sdk import ObjectStoragePath

        self.root = root.rstrip("/")
        base = ObjectStoragePath(self.root, conn_id=aws_conn_id, **storage_options)
        self.fs, self.path = base.fs, base.path.rstrip("/")
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
    """The store at ``root`` (``s3://bucket/prefix``, ``file:///folder`` or ``/folder``), see
    :class:`ArtifactStore`; ``region``: the S3 client's region (default: the connection's)."""
    if not root.startswith((*SCHEMES, "/")):
        raise ArtifactError(
            f"artifacts_root {root!r} must be an s3:// or file:// URI (include/platform/environments.yaml)."
        )
    return ArtifactStore(root, aws_conn_id, **({"region_name": region} if region else {}))
