"""Column lineage table, upstream / downstream walks, the picture."""

from __future__ import annotations

import pytest
from events import run_event

from data_platform.lineage.columns import ColumnEdge, edges_of_event, latest_edges
from data_platform.lineage.graph import build_graph, draw, find_columns, label, walk

WH = "postgres://localhost:5432"
SOURCE = ("postgres://erp-db:5432", "erp.dbo.invoices")
LANDING = ("file", "/lake/landing/erp/dbo/invoices")
TABLE = ("file", "/lake/cdc/erp/invoices")


def _chain() -> list[ColumnEdge]:
    events = [
        run_event("dms.erp.invoices", [SOURCE], LANDING, {"amount": [(*SOURCE, "amount")]}),
        run_event("cdc_merge.erp.invoices", [LANDING], TABLE, {"amount": [(*LANDING, "amount")]}),
        # the load reads one partition folder of the table: it continues the table's lineage
        run_event(
            "erp_load.load",
            [(TABLE[0], TABLE[1] + "/invoice_date=2026-01-15")],
            (WH, "warehouse.erp.invoices"),
            {"amount": [(TABLE[0], TABLE[1] + "/invoice_date=2026-01-15", "amount")]},
        ),
        run_event(
            "warehouse.procedure.erp.daily",
            [(WH, "warehouse.erp.invoices")],
            (WH, "warehouse.erp.daily"),
            {"revenue": [(WH, "warehouse.erp.invoices", "amount")]},
        ),
    ]
    return latest_edges(edge for event in events for edge in edges_of_event(event))


def test_upstream_walks_transitively_to_the_source_column() -> None:
    graph = build_graph(_chain())
    [start] = find_columns(graph, "erp.daily", "revenue")
    steps = walk(graph, start, "upstream")
    assert [(s.depth, label(s.source)) for s in steps] == [
        (1, f"{WH}/warehouse.erp.invoices.amount"),
        (2, "file//lake/cdc/erp/invoices.amount"),
        (3, "file//lake/landing/erp/dbo/invoices.amount"),
        (4, "postgres://erp-db:5432/erp.dbo.invoices.amount"),
    ]
    assert steps[-1].job == "dms.erp.invoices"


def test_downstream_walks_to_every_dependent_column() -> None:
    graph = build_graph(_chain())
    [start] = find_columns(graph, "postgres://erp-db:5432/erp.dbo.invoices", "amount")
    targets = [label(s.target) for s in walk(graph, start, "downstream")]
    assert targets[-1] == f"{WH}/warehouse.erp.daily.revenue"
    assert len(targets) == 4


def test_walk_ends_on_a_cycle() -> None:
    a = ColumnEdge("ns", "a", "x", "ns", "b", "x", "tests", "j1")
    b = ColumnEdge("ns", "b", "x", "ns", "a", "x", "tests", "j2")
    graph = build_graph([a, b])
    steps = walk(graph, ("ns", "a", "x"), "upstream")
    assert [(s.depth, s.job) for s in steps] == [(1, "j2"), (2, "j1")]


def test_latest_edge_wins() -> None:
    old = ColumnEdge(
        "ns", "a", "x", "ns", "b", "x", "tests", "j", subtype="IDENTITY", run_id="1", event_time="2026-01-01"
    )
    new = ColumnEdge(
        "ns",
        "a",
        "x",
        "ns",
        "b",
        "x",
        "tests",
        "j",
        subtype="TRANSFORMATION",
        run_id="2",
        event_time="2026-01-02",
    )
    assert latest_edges([new, old]) == [new]
    assert latest_edges([old, new]) == [new]


def test_unknown_column_names_the_known_datasets() -> None:
    graph = build_graph(_chain())
    with pytest.raises(LookupError, match="erp.daily"):
        find_columns(graph, "shop.nothing", "revenue")


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_picture(tmp_path, suffix) -> None:
    graph = build_graph(_chain())
    [start] = find_columns(graph, "erp.daily", "revenue")
    out = draw(graph, start, walk(graph, start, "upstream"), tmp_path / f"lineage{suffix}")
    data = out.read_bytes()
    if suffix == ".svg":
        assert b"<svg" in data and b"revenue" in data
    else:
        assert data.startswith(b"\x89PNG")
