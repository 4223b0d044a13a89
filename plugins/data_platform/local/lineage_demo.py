"""Demo check of the lineage DAG: every stored event passed the schema, and the upstream walk of
a warehouse column of each pipeline the demo ran reaches the column's origin (the DMS files'
column for the CDC tables, the Jira REST API field (through the landed records) for the Jira tables,
the netCDF variable for the satellite series); draws the pictures."""

from __future__ import annotations

from data_platform.lake import storage
from data_platform.lineage.graph import build_graph, draw, find_columns, label, walk
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


def verify(settings: PlatformSettings) -> str:
    """Raises AssertionError when events were rejected or a walk does not reach its origin;
    a pipeline that did not run in this demo is named as such."""
    _, raw = lineage_config(settings)
    root = lineage_root(raw)
    rejected = storage.list_files(f"{root}/quarantine")
    assert not rejected, f"{len(rejected)} raw event file(s) had events rejected: {[f.uri for f in rejected]}"
    graph = build_graph(read_edges(f"{root}/{EDGES_JSON}"))
    lines = []
    for (table, column), (origin, field) in ORIGINS.items():
        try:
            starts = [c for c in find_columns(graph, table, column) if c[0].startswith("postgres://")]
        except LookupError:
            starts = []
        if not starts:
            lines.append(f"{table}.{column}: not in the lineage (its pipeline did not run in this demo)")
            continue
        steps = walk(graph, starts[0], "upstream")
        reached = [s.source for s in steps if s.source[1].endswith(origin) and s.source[2] == field]
        walked = [label(s.source) for s in steps]
        assert reached, f"upstream of {label(starts[0])} does not reach {origin}.{field}: {walked}"
        picture = draw(graph, starts[0], steps, local_dir() / "lineage" / f"{table}.{column}.svg")
        path = " <- ".join(label(s.source) for s in steps if s.transformation == "DIRECT")
        lines.append(f"{label(starts[0])} <- {path}; picture {picture}")
    return "\n  ".join(lines)
