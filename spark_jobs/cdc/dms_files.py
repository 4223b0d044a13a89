"""AWS DMS file naming in the landing area.

- full load: ``<schema>/<table>/LOAD00000001.<csv|parquet>`` (hex counter; the DMS guide's
  older examples show five digits, ``LOAD00001.csv``);
- CDC: ``<schema>/<table>/[<date folders>/]<yyyyMMdd-HHmmssSSS>.<csv|parquet>``, also the
  guide's ``20141029-1134010000.csv`` (ten digits after the dash). Date folders when
  DatePartitionEnabled, in any DatePartitionSequence (YYYYMMDD, YYYYMMDDHH, YYYYMM, MMYYYYDD,
  DDMMYYYY) and DatePartitionDelimiter (SLASH, UNDERSCORE, DASH, NONE), e.g. ``2024/05/01/``,
  ``2024/05/01/10/``, ``2024_05_01/``, ``20240501/``.
  CSV may be gzip-compressed (``.csv.gz``).

Any other object in a table folder is not read and is reported (the merge result's
``ignored_files`` and a warning), never skipped silently.

File names order files only as a last tiebreak: DMS does not write changes in commit order
across files, so the merge orders rows by the configured ordering columns first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from spark_jobs.common.lake import list_files

FileKind = Literal["full_load", "cdc"]
FULL_LOAD: Final = "full_load"
CDC: Final = "cdc"

_FULL_LOAD_NAME = re.compile(r"^LOAD[0-9A-Fa-f]{5,8}\.(?P<fmt>csv|parquet)(?:\.gz)?$")
_CDC_NAME = re.compile(r"^\d{8}-\d{9,10}(?:[-_][0-9A-Za-z]+)*\.(?P<fmt>csv|parquet)(?:\.gz)?$")
# 2-4 date parts (year, month, day, hour) joined by one delimiter, or 6-10 digits (NONE).
_DATE_FOLDERS = re.compile(r"^(?:\d{2,4}(?P<sep>[/_-])\d{2,4}(?:(?P=sep)\d{2,4}){0,2}/|\d{6,10}/)?$")


@dataclass(frozen=True)
class LandedFile:
    """One DMS file of a table."""

    uri: str
    rel_path: str
    """Path below the table's landing folder, e.g. ``2024/05/01/20240501-101500123.csv``."""
    kind: FileKind
    file_format: Literal["csv", "parquet"]
    size: int
    fingerprint: str
    digest: str | None = None
    """Content identity (``sha256:<hex>``), computed before the file is read for processing
    (:meth:`spark_jobs.cdc.tracker.FileTracker.with_digests`); ``None`` until then."""

    @property
    def name(self) -> str:
        return self.rel_path.rsplit("/", 1)[-1]

    @property
    def order_key(self) -> tuple[int, str, str]:
        """Full load first, then by name (the last tiebreak of the change order)."""
        return (0 if self.kind == FULL_LOAD else 1, self.name, self.rel_path)


def classify(rel_path: str) -> tuple[FileKind, str] | None:
    """(kind, format) of a DMS file path below the table folder, or ``None`` if not a DMS file."""
    folder, _, name = rel_path.rpartition("/")
    folder = f"{folder}/" if folder else ""
    match = _FULL_LOAD_NAME.match(name)
    if match and not folder:
        return FULL_LOAD, match.group("fmt")
    match = _CDC_NAME.match(name)
    if match and _DATE_FOLDERS.match(folder):
        return CDC, match.group("fmt")
    return None


def list_landed_files(table_landing_uri: str) -> tuple[list[LandedFile], list[str]]:
    """DMS files below a table's landing folder (sorted by change order) and ignored paths.

    Ignored paths are objects that are not DMS data files (e.g. ``_SUCCESS`` markers or stray
    uploads); they are reported, never read.
    """
    prefix = table_landing_uri.rstrip("/") + "/"
    landed: list[LandedFile] = []
    ignored: list[str] = []
    for info in list_files(table_landing_uri):
        rel_path = info.uri[len(prefix) :] if info.uri.startswith(prefix) else info.uri
        found = classify(rel_path)
        if found is None:
            ignored.append(rel_path)
            continue
        kind, file_format = found
        landed.append(
            LandedFile(info.uri, rel_path, kind, file_format, info.size, info.fingerprint)  # type: ignore[arg-type]
        )
    return sorted(landed, key=lambda f: f.order_key), sorted(ignored)
