"""Processed-file state, kept in the lake next to the data.

A file is *processed* for a consumer (usually a DAG id) once a marker object exists for it::

    <lake_root>/_processed/<consumer>/<path of the file relative to lake_root>.json

One marker per file (write-once objects: no read-modify-write of a shared manifest, so two
writers never lose each other's updates on S3). The marker holds a small JSON record of who
processed the file and when. Markers are written only after the output built from the file has
been committed, so a crash in between re-processes the file (loads are idempotent) rather than
losing it. The ``_processed`` folder is hidden from data listings (leading underscore).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from data_platform.lake import storage
from data_platform.lake.storage import LakeFile

MARKER_FOLDER = "_processed"
MARKER_SUFFIX = ".json"
_CONSUMER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def validate_consumer(consumer: str) -> str:
    if not _CONSUMER_RE.match(consumer or ""):
        raise ValueError(
            f"Consumer name {consumer!r} is not valid for processed markers; use letters, digits, "
            "'_', '.', '-' (a DAG id is a good choice)."
        )
    return consumer


def marker_relative_path(consumer: str, file_relative_path: str) -> str:
    """Path of a file's marker, relative to the lake root."""
    return f"{MARKER_FOLDER}/{consumer}/{file_relative_path}{MARKER_SUFFIX}"


def file_relative_path_of_marker(consumer: str, marker_relative: str) -> str | None:
    """Inverse of :func:`marker_relative_path`; ``None`` for objects that are not markers."""
    head = f"{MARKER_FOLDER}/{consumer}/"
    if not marker_relative.startswith(head) or not marker_relative.endswith(MARKER_SUFFIX):
        return None
    return marker_relative[len(head) : -len(MARKER_SUFFIX)]


def relative_prefix(prefix_uri: str, lake_root: str) -> str:
    """``prefix_uri`` relative to the lake root ('' for the root itself)."""
    if prefix_uri.rstrip("/") == lake_root.rstrip("/"):
        return ""
    return storage.relative_to(prefix_uri.rstrip("/"), lake_root)


def without_processed(files: Iterable[LakeFile], processed: set[str], lake_root: str) -> list[LakeFile]:
    """``files`` minus those whose lake-relative path is in ``processed``."""
    return [f for f in files if storage.relative_to(f.uri, lake_root) not in processed]


class ProcessedMarkers:
    """Read and write the processed markers of one consumer."""

    def __init__(self, lake_root: str, consumer: str):
        self.lake_root = lake_root.rstrip("/")
        self.consumer = validate_consumer(consumer)

    def marker_uri(self, file_uri: str) -> str:
        relative = storage.relative_to(file_uri, self.lake_root)
        return storage.join(self.lake_root, marker_relative_path(self.consumer, relative))

    def processed_paths(self, prefix_uri: str) -> set[str]:
        """Relative paths (to the lake root) of the processed files under ``prefix_uri``."""
        prefix = relative_prefix(prefix_uri, self.lake_root)
        marker_dir = storage.join(self.lake_root, MARKER_FOLDER, self.consumer, prefix)
        done: set[str] = set()
        for marker in storage.list_files(marker_dir, "*" + MARKER_SUFFIX):
            marker_relative = storage.relative_to(marker.uri, self.lake_root)
            relative = file_relative_path_of_marker(self.consumer, marker_relative)
            if relative is not None:
                done.add(relative)
        return done

    def unprocessed(self, files: Iterable[LakeFile], prefix_uri: str) -> list[LakeFile]:
        """The files of ``files`` (all under ``prefix_uri``) that have no marker yet."""
        return without_processed(files, self.processed_paths(prefix_uri), self.lake_root)

    def is_processed(self, file_uri: str) -> bool:
        return storage.exists(self.marker_uri(file_uri))

    def mark(self, file_uris: Iterable[str], details: Mapping[str, Any] | None = None) -> list[str]:
        """Write a marker for every file (rewriting an existing marker is harmless)."""
        written = []
        at = datetime.now(UTC).isoformat()
        for uri in file_uris:
            record = {"file": uri, "consumer": self.consumer, "processed_at": at, **(details or {})}
            written.append(storage.write_text(self.marker_uri(uri), json.dumps(record, default=str)))
        return written
