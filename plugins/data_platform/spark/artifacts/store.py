"""Where deployed artifacts live: a local folder (``file://``) or S3 (``s3://``), same layout.

``create`` never replaces an object with different content (exact versions are immutable); on S3
it is a conditional write (``If-None-Match: *``), so two deploys racing for one version cannot
both win. ``put`` replaces (used for the ``X.Y`` / ``X`` aliases).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from urllib.parse import urlparse

from data_platform.spark.artifacts.manifest import ArtifactError, sha256


class ArtifactStore(ABC):
    root: str

    def uri(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{key}"

    @abstractmethod
    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""

    @abstractmethod
    def put(self, key: str, data: bytes, tags: dict[str, str] | None = None) -> None:
        """Write ``data`` at ``key``, replacing what is there."""

    @abstractmethod
    def _create_if_absent(self, key: str, data: bytes, tags: dict[str, str] | None) -> bool:
        """Write only if nothing is at ``key``; False when something already was."""

    def create(self, key: str, data: bytes, tags: dict[str, str] | None = None) -> bool:
        """Write ``data`` unless ``key`` exists; True if written, False if the same bytes were there."""
        if self._create_if_absent(key, data, tags):
            return True
        existing = self.read(key)
        if existing is not None and sha256(existing) == sha256(data):
            return False
        raise ArtifactError(
            f"{self.uri(key)} already exists with different content. Published versions are "
            "immutable: bump the version in include/spark/jobs.yaml and deploy again."
        )


class LocalArtifactStore(ArtifactStore):
    def __init__(self, root: str):
        self.root = root.rstrip("/")
        self.path = Path(urlparse(root).path if root.startswith("file://") else root)

    def read(self, key: str) -> bytes | None:
        path = self.path / key
        return path.read_bytes() if path.is_file() else None

    def put(self, key: str, data: bytes, tags: dict[str, str] | None = None) -> None:
        path = self.path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def _create_if_absent(self, key: str, data: bytes, tags: dict[str, str] | None) -> bool:
        path = self.path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("xb") as handle:
                handle.write(data)
        except FileExistsError:
            return False
        return True


class S3ArtifactStore(ArtifactStore):
    def __init__(self, root: str, aws_conn_id: str | None, region: str | None):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        self.root = root.rstrip("/")
        parsed = urlparse(self.root)
        self.bucket, self.prefix = parsed.netloc, parsed.path.strip("/")
        self.hook = S3Hook(aws_conn_id=aws_conn_id, region_name=region)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def read(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            response = self.hook.conn.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as err:
            if err.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        return response["Body"].read()

    def _put(self, key: str, data: bytes, tags: dict[str, str] | None, **conditions: str) -> None:
        from urllib.parse import urlencode

        extra = {"Tagging": urlencode(tags)} if tags else {}
        self.hook.conn.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra, **conditions)

    def put(self, key: str, data: bytes, tags: dict[str, str] | None = None) -> None:
        self._put(key, data, tags)

    def _create_if_absent(self, key: str, data: bytes, tags: dict[str, str] | None) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._put(key, data, tags, IfNoneMatch="*")
        except ClientError as err:
            if err.response["Error"]["Code"] in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return False
            raise
        return True


def open_store(
    root: str,
    *,
    aws_conn_id: str | None = None,
    region: str | None = None,
) -> ArtifactStore:
    if root.startswith("s3://"):
        return S3ArtifactStore(root, aws_conn_id, region)
    if root.startswith("file://") or root.startswith("/"):
        return LocalArtifactStore(root)
    raise ArtifactError(
        f"artifacts_root {root!r} must be an s3:// or file:// URI (include/platform/environments.yaml)."
    )
