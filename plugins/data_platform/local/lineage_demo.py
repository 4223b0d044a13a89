"""Demo check of the lineage DAG: the column lineage of a CDC warehouse column reaches the DMS
files' column, every stored event passed the schema, and the picture of that column."""

from __future__ import annotations

from data_platform.lake import storage
from data_platform.lineage.graph import build_graph, draw, find_columns, label, walk
from data_platform.lineage.processing import EDGES_JSON, lineage_root, read_edges
from data_platform.lineage.tasks import lineage_config
from data_platform.paths import local_dir
from data_platform.settings import PlatformSettings

WAREHOUSE_COLUMN = ("shop.orders", "amount")
DMS_FILES = "/landing/shop/public/orders"


def verify(settings: PlatformSettings) -> str:
    """Raises AssertionError when the walk does not reach the DMS files or events were rejected."""
    _, raw = lineage_config(settings)
    root = lineage_root(raw)
    rejected = storage.list_files(f"{root}/quarantine")
    assert not rejected, f"{len(rejected)} raw event file(s) had events rejected: {[f.uri for f in rejected]}"
    graph = build_graph(read_edges(f"{root}/{EDGES_JSON}"))
    starts = [c for c in find_columns(graph, *WAREHOUSE_COLUMN) if c[0].startswith("postgres://")]
    assert starts, f"no warehouse column {WAREHOUSE_COLUMN} in the lineage"
    steps = walk(graph, starts[0], "upstream")
    origins = [
        s.source for s in steps if s.source[1].endswith(DMS_FILES) and s.source[2] == WAREHOUSE_COLUMN[1]
    ]
    assert origins, (
        f"upstream of {label(starts[0])} does not reach the DMS files: {[label(s.source) for s in steps]}"
    )
    picture = draw(graph, starts[0], steps, local_dir() / "lineage" / "shop.orders.amount.svg")
    path = " <- ".join(label(s.source) for s in steps if s.transformation == "DIRECT")
    return f"{label(starts[0])} <- {path}; picture {picture}"
