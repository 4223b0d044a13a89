"""The processing run: raw OpenLineage events of the lake -> the column lineage table.

1. read every raw event file under the raw events folder (one JSON event per file, as the
   ``file`` transport writes them, or JSON lines);
2. validate each event (``data_platform.lineage.validation``); a rejected event is written to
   ``<lineage root>/quarantine/<path below raw/>.rejected.jsonl`` with its line, text and
   reason, and counted;
3. collect the column edges of the valid events (a job's own column lineage of a dataset
   replaces the Spark agent's, see ``columns.edges_of_events``) and of the warehouse SQL
   (stored procedures), name each dataset by its table (partition and run folders are the
   table folder they lie under: ``columns.table_level``), keep the newest observation of each
   edge, write the table as
   ``<lineage root>/column_lineage/edges-<sha256 of the content>.parquet`` (a new name only
   when the content changed, so a rerun loads nothing new) and ``edges.json`` next to it (what
   the upstream / downstream command reads).

The whole raw folder is processed every run: the table is a function of the events, so rerun,
clear and backfill converge on the same table.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from data_platform.lake import storage
from data_platform.lineage.columns import EDGE_FIELDS, ColumnEdge, edges_of_events, latest_edges, table_level
from data_platform.lineage.validation import Rejected, parse_events

EDGES_JSON = "column_lineage/edges.json"


@dataclass
class ProcessingResult:
    """Counts of one processing run and where its outputs are (URIs)."""

    files_read: int = 0
    events_valid: int = 0
    events_rejected: int = 0
    edges: int = 0
    edges_uri: str = ""
    edges_json_uri: str = ""
    quarantine_uris: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files_read": self.files_read,
            "events_valid": self.events_valid,
            "events_rejected": self.events_rejected,
            "rows_in": self.events_valid + self.events_rejected,
            "rows_out": self.edges,
            "edges_uri": self.edges_uri,
            "edges_json_uri": self.edges_json_uri,
            "quarantine_uris": self.quarantine_uris,
        }


def lineage_root(raw_events_uri: str) -> str:
    """The folder holding ``raw/``: outputs go next to the raw events."""
    return raw_events_uri.rstrip("/").rsplit("/", 1)[0]


def read_raw_events(raw_events_uri: str) -> tuple[list[dict[str, Any]], list[Rejected], int]:
    """Valid events (by event time, then run id, then file), rejected events, files read."""
    valid: list[tuple[str, str, str, dict[str, Any]]] = []
    rejected: list[Rejected] = []
    files = storage.list_files(raw_events_uri)
    for lake_file in files:
        events, bad = parse_events(
            storage.read_bytes(lake_file.uri).decode("utf-8", "replace"), lake_file.uri
        )
        rejected += bad
        valid += [(e["eventTime"], e["run"]["runId"], lake_file.uri, e) for e in events]
    valid.sort(key=lambda item: item[:3])
    return [item[3] for item in valid], rejected, len(files)


def quarantine(rejected: Sequence[Rejected], root_uri: str, raw_events_uri: str) -> list[str]:
    """Write the rejected events, grouped by source file; returns the quarantine files."""
    by_source: dict[str, list[Rejected]] = {}
    for item in rejected:
        by_source.setdefault(item.source, []).append(item)
    written = []
    for source, items in sorted(by_source.items()):
        uri = f"{root_uri}/quarantine/{storage.relative_to(source, raw_events_uri)}.rejected.jsonl"
        storage.write_text(uri, "".join(json.dumps(i.as_dict(), sort_keys=True) + "\n" for i in items))
        written.append(uri)
    return written


def edges_table_bytes(edges: Sequence[ColumnEdge]) -> bytes:
    """The edges as Parquet (one column per ``ColumnEdge`` field, all strings)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({name: pa.array([getattr(e, name) for e in edges], pa.string()) for name in EDGE_FIELDS})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def write_edges(edges: Sequence[ColumnEdge], root_uri: str) -> tuple[str, str]:
    """Write the table (content-addressed Parquet) and ``edges.json``; returns both URIs."""
    document = json.dumps([e.as_dict() for e in edges], sort_keys=True, indent=1)
    digest = hashlib.sha256(document.encode()).hexdigest()[:16]
    parquet_uri = f"{root_uri}/column_lineage/edges-{digest}.parquet"
    if not storage.exists(parquet_uri):
        storage.write_bytes(parquet_uri, edges_table_bytes(edges))
    json_uri = f"{root_uri}/{EDGES_JSON}"
    storage.write_text(json_uri, document)
    return parquet_uri, json_uri


def read_edges(edges_json_uri: str) -> list[ColumnEdge]:
    """The table written by :func:`write_edges`."""
    return [ColumnEdge(**row) for row in json.loads(storage.read_bytes(edges_json_uri))]


def process(raw_events_uri: str, extra_edges: Sequence[ColumnEdge] = ()) -> ProcessingResult:
    """One processing run (see the module docstring); ``extra_edges``: e.g. the SQL lineage."""
    root = lineage_root(raw_events_uri)
    events, rejected, files = read_raw_events(raw_events_uri)
    edges = latest_edges(table_level(edges_of_events(events) + list(extra_edges)))
    edges_uri, json_uri = write_edges(edges, root)
    return ProcessingResult(
        files_read=files,
        events_valid=len(events),
        events_rejected=len(rejected),
        edges=len(edges),
        edges_uri=edges_uri,
        edges_json_uri=json_uri,
        quarantine_uris=quarantine(rejected, root, raw_events_uri),
    )
