"""Admission of newly arrived files: check each one, then move it to ``accepted/`` or ``rejected/``.

The layout follows the Redshift ETL post: files land under a ``received/`` folder and are moved
to the sibling ``accepted/`` or ``rejected/`` folder (the last ``received`` path segment is
swapped, deeper sub-folders are kept). A rejected file keeps its bytes; the reason is written
next to it as a hidden ``_<name>.reason.json`` so whoever looks at the quarantine sees why.
Nothing is ever deleted, and rerunning admission for the same files gives the same outcome
(a file already moved by an earlier try is reported where it now is).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass, field
from typing import Literal

from data_platform.lake import storage
from data_platform.lake.storage import LakeFile

Outcome = Literal["accepted", "rejected"]
RECEIVED = "received"
HEADER_PROBE_BYTES = 64 * 1024
_FORMATS_BY_SUFFIX = {".parquet": "parquet", ".parq": "parquet", ".csv": "csv", ".csv.gz": "csv"}


@dataclass(frozen=True)
class AdmissionRules:
    """What a new file must satisfy to be accepted.

    ``name_pattern`` is a regular expression the file *name* must fully match (e.g.
    ``r"events_\\d{8}\\.parquet"``); ``file_format`` is ``parquet`` or ``csv`` (``None``: from the
    extension); ``required_columns`` must appear in the Parquet schema / CSV header (any case).
    """

    name_pattern: str | None = None
    min_size_bytes: int = 1
    max_size_bytes: int | None = None
    file_format: str | None = None
    required_columns: tuple[str, ...] = ()
    csv_delimiter: str = ","

    def __post_init__(self) -> None:
        if self.file_format not in (None, "parquet", "csv"):
            raise ValueError(f"file_format={self.file_format!r}: use 'parquet', 'csv' or None.")
        if self.name_pattern is not None:
            re.compile(self.name_pattern)


@dataclass(frozen=True)
class Rejection:
    uri: str
    reason: str


@dataclass
class AdmissionResult:
    accepted: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def format_of(name: str, declared: str | None) -> str | None:
    if declared:
        return declared
    lowered = name.lower()
    for suffix in sorted(_FORMATS_BY_SUFFIX, key=len, reverse=True):
        if lowered.endswith(suffix):
            return _FORMATS_BY_SUFFIX[suffix]
    return None


def _parquet_columns(uri: str) -> list[str]:
    import pyarrow.parquet as pq

    with storage.open_file(uri) as handle:
        return list(pq.ParquetFile(handle).schema_arrow.names)


def _csv_header(uri: str, delimiter: str) -> list[str]:
    with storage.open_file(uri) as handle:
        raw = handle.read(HEADER_PROBE_BYTES)
    if uri.lower().endswith(".gz"):
        raw = gzip.GzipFile(fileobj=io.BytesIO(raw)).read1(HEADER_PROBE_BYTES)
    text = raw.decode("utf-8-sig")
    first_line = text.splitlines()[0] if text else ""
    return next(csv.reader([first_line], delimiter=delimiter), [])


def _header_problem(columns: list[str], required: tuple[str, ...], kind: str) -> str | None:
    if not columns or not any(c.strip() for c in columns):
        return f"no {kind} found"
    if any(not c.strip() for c in columns):
        return f"{kind} has an empty column name: {columns}"
    if len(set(columns)) != len(columns):
        return f"{kind} has duplicate column names: {columns}"
    present = {c.lower() for c in columns}  # the warehouse folds names to lower case
    missing = [c for c in required if c.lower() not in present]
    if missing:
        return f"{kind} lacks required column(s) {missing} (has {columns})"
    return None


def check_file(file: LakeFile, rules: AdmissionRules) -> str | None:
    """The reason ``file`` must be rejected, or ``None`` when it is acceptable."""
    if rules.name_pattern and not re.fullmatch(rules.name_pattern, file.name):
        return f"file name {file.name!r} does not match the pattern {rules.name_pattern!r}"
    if file.size < rules.min_size_bytes:
        return f"file is {file.size} bytes, below the minimum of {rules.min_size_bytes}"
    if rules.max_size_bytes is not None and file.size > rules.max_size_bytes:
        return f"file is {file.size} bytes, above the maximum of {rules.max_size_bytes}"
    file_format = format_of(file.name, rules.file_format)
    if file_format == "parquet":
        try:
            columns = _parquet_columns(file.uri)
        except Exception as err:  # noqa: BLE001 - any reader error means "unreadable"
            return f"not a readable Parquet file: {err}"
        return _header_problem(columns, rules.required_columns, "Parquet schema")
    if file_format == "csv":
        try:
            header = _csv_header(file.uri, rules.csv_delimiter)
        except (UnicodeDecodeError, OSError, EOFError, csv.Error) as err:
            return f"CSV header is not readable: {err}"
        problem = _header_problem(header, rules.required_columns, "CSV header")
        if problem is None and any(_looks_like_value(c) for c in header):
            return f"first line looks like data, not a CSV header: {header}"
        return problem
    return f"unsupported file type {file.name!r}: expected .parquet or .csv (or set file_format)"


def _looks_like_value(cell: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d.,:/ TZ-]+", cell.strip()))


def destination_uri(uri: str, outcome: Outcome, received_dir: str = RECEIVED) -> str:
    """Swap the last ``received`` path segment of ``uri`` for ``accepted`` / ``rejected``."""
    scheme, _, rest = uri.partition("://")
    parts = rest.split("/")
    positions = [i for i, part in enumerate(parts[:-1]) if part == received_dir]
    if not positions:
        raise ValueError(
            f"{uri} is not under a '{received_dir}/' folder; admission moves files from "
            f".../{received_dir}/... to .../accepted/... or .../rejected/..."
        )
    parts[positions[-1]] = outcome
    return f"{scheme}://{'/'.join(parts)}"


def reason_uri(rejected_uri: str) -> str:
    folder, _, name = rejected_uri.rpartition("/")
    return f"{folder}/_{name}.reason.json"


def admit_files(uris: list[str], rules: AdmissionRules, received_dir: str = RECEIVED) -> AdmissionResult:
    """Check and move every file; returns where each one went."""
    result = AdmissionResult()
    for uri in uris:
        accepted_uri = destination_uri(uri, "accepted", received_dir)
        rejected_uri = destination_uri(uri, "rejected", received_dir)
        if not storage.exists(uri):
            # Moved by an earlier try of this task: report it where it is now.
            if storage.exists(accepted_uri):
                result.accepted.append(accepted_uri)
            elif storage.exists(rejected_uri):
                previous = json.loads(storage.read_bytes(reason_uri(rejected_uri)))
                result.rejected.append(Rejection(rejected_uri, previous["reason"]))
            else:
                raise FileNotFoundError(
                    f"{uri} does not exist and is neither in accepted/ nor rejected/; was it "
                    "removed by hand? Re-deliver it or drop it from the task input."
                )
            continue
        reason = check_file(storage.file_info(uri), rules)
        if reason is None:
            result.accepted.append(storage.move_file(uri, accepted_uri))
            continue
        storage.write_text(reason_uri(rejected_uri), json.dumps({"file": uri, "reason": reason}, indent=2))
        result.rejected.append(Rejection(storage.move_file(uri, rejected_uri), reason))
    return result
