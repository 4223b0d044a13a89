"""Lake IO over fsspec for ``file://`` and ``s3://`` URIs.

Small objects (state, pointers, locks, results) go through these helpers; table data goes
through Spark. Two primitives carry the pipeline's guarantees:

- :func:`write_atomic`: readers see the old or the new object, never a partial one (local:
  write a temporary file then ``os.replace``; S3: a single PUT replaces the object atomically).
- :func:`create_exclusive`: create a whole object only if it does not exist (local: ``link(2)``
  of a complete temporary file;
  S3: conditional PUT with ``IfNoneMatch='*'`` through boto3).

URIs are kept unencoded (``file:///data/my table/x.csv``), which is what Spark expects.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_S3_SCHEMES = ("s3", "s3a", "s3n")


@dataclass(frozen=True)
class FileInfo:
    """One object found by :func:`list_files`."""

    uri: str
    size: int
    fingerprint: str
    """Changes when the object is rewritten: the S3 ETag, or ``mtime_ns`` locally."""


def normalize_uri(path_or_uri: str | os.PathLike[str]) -> str:
    """``/abs/dir``, ``rel/dir``, ``file:/x`` or ``s3://b/k`` -> ``file:///abs/dir`` or ``s3://b/k``.

    A trailing slash is removed (except for a bare bucket root).
    """
    text = os.fspath(path_or_uri)
    scheme = urlsplit(text).scheme.lower()
    if scheme in _S3_SCHEMES:
        return "s3://" + text.split("://", 1)[1].rstrip("/")
    if scheme == "file":
        path = text[len("file:") :]
        path = "/" + path.lstrip("/")
        return "file://" + path.rstrip("/") if path != "/" else "file:///"
    if scheme and len(scheme) > 1:
        raise ValueError(f"Unsupported URI scheme {scheme!r} in {text!r}; use file:// or s3://.")
    absolute = str(Path(text).expanduser().resolve())
    return "file://" + absolute


def join_uri(base: str, *parts: str) -> str:
    """Join URI parts with single slashes: ``join_uri("s3://b/lake", "cdc", "x/")``."""
    pieces = [base.rstrip("/")] + [p.strip("/") for p in parts if p and p.strip("/")]
    return "/".join(pieces)


def is_s3(uri: str) -> bool:
    return urlsplit(uri).scheme.lower() in _S3_SCHEMES


def local_path(uri: str) -> str:
    """The filesystem path of a ``file://`` URI."""
    if not uri.startswith("file://"):
        raise ValueError(f"{uri!r} is not a file:// URI")
    return uri[len("file://") :] or "/"


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> (``bucket``, ``a/b``)."""
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key


@cache
def _s3_client() -> Any:
    import boto3

    return boto3.client("s3")


def filesystem(uri: str) -> tuple[Any, str]:
    """The fsspec filesystem for ``uri`` and the path to use with it (``fsspec.core.url_to_fs``).

    Listing caches are off: they would hide objects written through boto3 (locks) or by other
    processes. fsspec keeps one instance per process and thread for these options."""
    from fsspec.core import url_to_fs

    return url_to_fs(normalize_uri(uri), use_listings_cache=False)


def _to_uri(uri_of_root: str, fs_path: str) -> str:
    if is_s3(uri_of_root):
        return "s3://" + fs_path.lstrip("/")
    return "file://" + fs_path


def exists(uri: str) -> bool:
    fs, path = filesystem(uri)
    return bool(fs.exists(path))


def list_files(uri: str) -> list[FileInfo]:
    """All objects below ``uri`` (recursively), sorted by URI; ``[]`` when it does not exist."""
    fs, path = filesystem(uri)
    try:
        found = fs.find(path, detail=True)
    except FileNotFoundError:
        return []
    files = []
    for fs_path, info in found.items():
        if info.get("type") == "directory":
            continue
        etag = info.get("ETag") or info.get("etag")
        if etag:
            fingerprint = str(etag).strip('"')
        else:
            fingerprint = str(int(float(info.get("mtime", 0)) * 1e9))
        files.append(FileInfo(_to_uri(uri, fs_path), int(info.get("size") or 0), fingerprint))
    return sorted(files, key=lambda f: f.uri)


def list_dir_names(uri: str) -> list[str]:
    """Names of the direct children of ``uri`` (files and folders); ``[]`` when missing."""
    fs, path = filesystem(uri)
    try:
        entries = fs.ls(path, detail=False)
    except FileNotFoundError:
        return []
    return sorted(e.rstrip("/").rsplit("/", 1)[-1] for e in entries)


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    return bytes(fs.cat_file(path))


def read_json(uri: str, default: Any = None) -> Any:
    """The parsed JSON object at ``uri``, or ``default`` when it does not exist."""
    try:
        return json.loads(read_bytes(uri))
    except FileNotFoundError:
        return default


def write_atomic(uri: str, data: bytes) -> None:
    """Replace the object at ``uri`` so that readers never see a partial object."""
    uri = normalize_uri(uri)
    if is_s3(uri):
        bucket, key = split_s3(uri)
        _s3_client().put_object(Bucket=bucket, Key=key, Body=data)
        return
    path = Path(local_path(uri))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(uri: str, obj: Any) -> None:
    write_atomic(uri, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())


def create_exclusive(uri: str, data: bytes) -> bool:
    """Create the object only if nothing exists at ``uri``; ``False`` when it already exists."""
    uri = normalize_uri(uri)
    if is_s3(uri):
        from botocore.exceptions import ClientError

        bucket, key = split_s3(uri)
        try:
            _s3_client().put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or exc.response.get(
                "ResponseMetadata", {}
            ).get("HTTPStatusCode") in (409, 412):
                return False
            raise
        return True
    path = Path(local_path(uri))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)  # atomic and exclusive: readers never see the object half-written
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def delete(uri: str, recursive: bool = False) -> None:
    """Delete an object (or a folder with ``recursive``); missing objects are ignored."""
    fs, path = filesystem(uri)
    try:
        fs.rm(path, recursive=recursive)
    except FileNotFoundError:
        return


def copy_file(src: str, dst: str) -> None:
    """Copy one object byte for byte (streamed), also across file:// and s3://."""
    import shutil

    src_fs, src_path = filesystem(src)
    dst_fs, dst_path = filesystem(dst)
    if not is_s3(dst):
        Path(dst_path).parent.mkdir(parents=True, exist_ok=True)
    with src_fs.open(src_path, "rb") as reader, dst_fs.open(dst_path, "wb") as writer:
        shutil.copyfileobj(reader, writer, 8 << 20)


def clone_file(src: str, dst: str) -> None:
    """Make ``dst`` an immutable copy of ``src`` without moving the bytes through this process
    where the store allows: a hard link locally (falling back to a copy across devices), a
    server-side ``CopyObject`` on S3 (boto3's managed copy, multipart above 8 MiB)."""
    if is_s3(src) and is_s3(dst):
        source_bucket, source_key = split_s3(src)
        bucket, key = split_s3(dst)
        _s3_client().copy({"Bucket": source_bucket, "Key": source_key}, bucket, key)
        return
    if is_s3(src) or is_s3(dst):
        copy_file(src, dst)
        return
    target = Path(local_path(dst))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(local_path(src), target)
    except OSError:
        copy_file(src, dst)


def file_digest(uri: str, chunk_size: int = 8 << 20) -> str:
    """``sha256:<hex>`` of the object's stored bytes (not decompressed), streamed in chunks."""
    import hashlib

    fs, path = filesystem(uri)
    digest = hashlib.sha256()
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def open_file(uri: str, mode: str = "rb") -> Any:
    """An open file object (binary by default); gzip is decompressed when the name ends in .gz."""
    fs, path = filesystem(uri)
    return fs.open(path, mode, compression="infer")
