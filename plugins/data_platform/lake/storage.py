"""File operations on the lake, the same for ``file://`` (local target) and ``s3://`` (aws target).

Everything goes through :class:`airflow.sdk.ObjectStoragePath` (fsspec underneath: the local file
system, or s3fs authenticated by the amazon provider with the platform's AWS connection), so the
callers only ever handle plain URIs such as ``s3://bucket/lake/landing/x.parquet`` or
``file:///home/me/.local/lake/landing/x.parquet``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

SUPPORTED_SCHEMES = ("file", "s3")


@dataclass(frozen=True, order=True)
class LakeFile:
    """One object in the lake: its URI (no connection id in it) and its size in bytes."""

    uri: str
    size: int

    @property
    def name(self) -> str:
        return self.uri.rsplit("/", 1)[-1]


def scheme_of(uri: str) -> str:
    scheme, sep, _ = uri.partition("://")
    if not sep or scheme not in SUPPORTED_SCHEMES:
        raise ValueError(
            f"Lake URI {uri!r} must start with one of {', '.join(s + '://' for s in SUPPORTED_SCHEMES)} "
            "(build it with get_settings().lake_uri(...))."
        )
    return scheme


def lake_path(uri: str, conn_id: str | None = None) -> ObjectStoragePath:
    """The ObjectStoragePath of ``uri``; ``s3://`` paths use the platform's AWS connection."""
    from airflow.sdk import ObjectStoragePath

    if scheme_of(uri) == "s3" and conn_id is None:
        from data_platform.settings import get_settings

        conn_id = get_settings().aws_conn_id
    return ObjectStoragePath(uri, conn_id=conn_id)


def _uri(path: ObjectStoragePath, fs_path: str | None = None) -> str:
    """A clean URI for an fsspec path (``ObjectStoragePath.__str__`` embeds the conn id)."""
    fs_path = fs_path if fs_path is not None else path.path
    if path.protocol == "file":
        return "file://" + ("/" + fs_path.lstrip("/"))
    return f"{path.protocol}://{fs_path.lstrip('/')}"


def is_hidden(relative_path: str) -> bool:
    """Hadoop convention: names starting with ``_`` or ``.`` (``_SUCCESS``, ``.crc``) are not data."""
    return any(part.startswith(("_", ".")) for part in relative_path.split("/"))


def filter_listing(prefix_uri: str, entries: Iterable[tuple[str, int]], pattern: str = "*") -> list[LakeFile]:
    """Keep the data files of a raw ``(uri, size)`` listing of ``prefix_uri`` that match ``pattern``.

    ``pattern`` is an ``fnmatch`` pattern on the path relative to the prefix (``*`` also crosses
    ``/``, so ``*.parquet`` matches ``2024/01/01/a.parquet``). Hidden files and folders (see
    :func:`is_hidden`) are skipped, which also keeps marker trees out of the listing.
    """
    base = prefix_uri.rstrip("/") + "/"
    found = []
    for uri, size in entries:
        relative = uri[len(base) :] if uri.startswith(base) else ""
        if relative and not is_hidden(relative) and fnmatch.fnmatchcase(relative, pattern):
            found.append(LakeFile(uri=uri, size=int(size)))
    return sorted(found)


def list_files(prefix_uri: str, pattern: str = "*") -> list[LakeFile]:
    """Data files under ``prefix_uri`` (recursive, sorted by URI); see :func:`filter_listing`."""
    root = lake_path(prefix_uri.rstrip("/"))
    fs = root.fs
    base = root.path.rstrip("/")
    fs.invalidate_cache(base)  # s3fs caches listings; other writers may have added files since
    if not fs.exists(base):
        return []
    entries = [
        (_uri(root, fs_path), info.get("size") or 0)
        for fs_path, info in fs.find(base, detail=True).items()
        if info.get("type") == "file"
    ]
    return filter_listing(_uri(root), entries, pattern)


def file_info(uri: str) -> LakeFile:
    path = lake_path(uri)
    info = path.fs.info(path.path)
    return LakeFile(uri=_uri(path), size=int(info.get("size") or 0))


def exists(uri: str) -> bool:
    path = lake_path(uri)
    path.fs.invalidate_cache(path.path)
    return bool(path.fs.exists(path.path))


def open_file(uri: str, mode: str = "rb") -> BinaryIO:
    """Open for streaming reads (or writes); the caller closes it."""
    path = lake_path(uri)
    if "w" in mode and path.protocol == "file":
        path.fs.makedirs(path.parent.path, exist_ok=True)
    return path.fs.open(path.path, mode)


def read_bytes(uri: str) -> bytes:
    with open_file(uri) as handle:
        return handle.read()


def read_head(uri: str, size: int) -> bytes:
    """The first ``size`` bytes (a ranged read on S3)."""
    with open_file(uri) as handle:
        return handle.read(size)


def write_bytes(uri: str, data: bytes) -> str:
    with open_file(uri, "wb") as handle:
        handle.write(data)
    return uri


def write_text(uri: str, text: str) -> str:
    return write_bytes(uri, text.encode("utf-8"))


def copy_file(src_uri: str, dst_uri: str) -> str:
    """Server-side copy on S3, a file copy locally; the source stays."""
    src, dst = lake_path(src_uri), lake_path(dst_uri)
    if src.protocol != dst.protocol:
        raise ValueError(f"Cannot copy {src_uri} to {dst_uri}: both must be on the same store.")
    if dst.protocol == "file":
        dst.fs.makedirs(dst.parent.path, exist_ok=True)
    src.fs.copy(src.path, dst.path)
    return dst_uri


def move_file(src_uri: str, dst_uri: str) -> str:
    """Move a file (a rename locally; copy then remove the source on S3). The bytes are kept."""
    src, dst = lake_path(src_uri), lake_path(dst_uri)
    if src.protocol != dst.protocol:
        raise ValueError(f"Cannot move {src_uri} to {dst_uri}: both must be on the same store.")
    if dst.protocol == "file":
        dst.fs.makedirs(dst.parent.path, exist_ok=True)
    src.fs.mv(src.path, dst.path)
    return dst_uri


def relative_to(uri: str, root_uri: str) -> str:
    """``uri`` relative to ``root_uri`` (error if it is not under it)."""
    root = root_uri.rstrip("/") + "/"
    if not uri.startswith(root):
        raise ValueError(f"{uri} is not under {root_uri}; lake files must live under the lake root.")
    return uri[len(root) :]


def join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *(p.strip("/") for p in parts if p)])


def as_uri_list(value: object) -> list[str]:
    """Operator input as a list of URIs: a list, one URI, or a rendered template of a list.

    Jinja renders ``{{ ti.xcom_pull(...) }}`` to the text of a Python list unless the DAG renders
    native objects; both forms are accepted (``XComArg`` inputs arrive as lists already).
    """
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            import ast

            parsed = ast.literal_eval(text)
            return as_uri_list(parsed)
        return [text]
    if isinstance(value, (list, tuple)):
        uris = []
        for item in value:
            if not isinstance(item, str):
                raise TypeError(f"Expected lake URIs (strings), got {item!r} in {value!r}.")
            uris.append(item)
        return uris
    raise TypeError(f"Expected a list of lake URIs, got {type(value).__name__}: {value!r}.")
