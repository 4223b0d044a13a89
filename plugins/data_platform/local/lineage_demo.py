"""Demo check of the lineage DAG: every stored event passed the schema, and the upstream walk of
a warehouse column of each pipeline the demo ran reaches the column's origin (the DMS files'
column for the CDC tables, the Jira REST API field (through the landed records) for the Jira tables,
the netCDF variable for the satellite series); draws the pictures."""

from __future__ import annotations

import networkx as nx

from data_platform.lake import storage
from data_platform.lineage.graph import Column, Step, build_graph, draw, find_columns, label, walk
from data_platform.lineage.processing import EDGES_JSON, lineage_root, read_edges
from data_platform.lineage.tasks import lineage_config
from data_platform.paths import local_dir
from data_platform.settings import PlatformSettings

# warehouse table, column -> the end of the origin dataset's name and the origin field
ORIGINS = {
    ("shop.orders", "amount"): ("/landing/shop/public/orders", "amount"),
    ("jira.issues", "status"): ("/rest/api/3/search/jql", "fields.status.name"),
    ("jira.status_history", "to_status"): ("/rest/api/3/search/jql", "changelog.histories.items.toString"),
    ("satellite.dssf_timeseries", "dssf_tot"): ("/landing/satellite/mdssftd", "DSSF_TOT"),
}


def lineage_graph(settings: PlatformSettings) -> nx.MultiDiGraph:
    """The graph of the column lineage table the lineage DAG's processing last wrote."""
    _, raw = lineage_config(settings)
    return build_graph(read_edges(f"{lineage_root(raw)}/{EDGES_JSON}"))


def walk_to_origin(graph: nx.MultiDiGraph, table: str, column: str) -> tuple[Column, list[Step]]:
    """The warehouse column ``table.column`` (a key of :data:`ORIGINS`) and its upstream walk.

    :raises LookupError: the lineage has no warehouse column ``table.column``.
    :raises AssertionError: the walk does not reach the column's origin (the walked columns named).
    """
    starts = [c for c in find_columns(graph, table, column) if c[0].startswith("postgres://")]
    if not starts:
        raise LookupError(f"No warehouse column {table}.{column} in the lineage.")
    origin, field = ORIGINS[(table, column)]
    steps = walk(graph, starts[0], "upstream")
    reached = [s.source for s in steps if s.source[1].endswith(origin) and s.source[2] == field]
    walked = [label(s.source) for s in steps]
    assert reached, f"upstream of {label(starts[0])} does not reach {origin}.{field}: {walked}"
    return starts[0], steps


def verify(settings: PlatformSettings) -> str:
    """Raises AssertionError when events were rejected or a walk does not reach its origin;
    a pipeline that did not run in this demo is named as such."""
    _, raw = lineage_config(settings)
    rejected = storage.list_files(f"{lineage_root(raw)}/quarantine")
    assert not rejected, f"{len(rejected)} raw event file(s) had events rejected: {[f.uri for f in rejected]}"
    graph = lineage_graph(settings)
    lines = []
    for table, column in ORIGINS:
        try:
            start, steps = walk_to_origin(graph, table, column)
        except LookupError:
            lines.append(f"{table}.{column}: not in the lineage (its pipeline did not run in this demo)")
            continue
        picture = draw(graph, start, steps, local_dir() / "lineage" / f"{table}.{column}.svg")
        path = " <- ".join(label(s.source) for s in steps if s.transformation == "DIRECT")
        lines.append(f"{label(start)} <- {path}; picture {picture}")
    return "\n  ".join(lines)
