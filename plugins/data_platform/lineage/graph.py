"""The column lineage graph: upstream / downstream walks and a picture.

Nodes are columns ``(namespace, name, field)``, edges the column lineage table's edges
(``data_platform.lineage.columns.ColumnEdge``), built with networkx. A lake dataset read or
written as one of its folders (a partition, a file set) is the table folder it lies under
(``columns.canonical_datasets``, as in the table), so a load of
``.../cdc/shop/orders/date=2026-01-15`` continues the lineage of ``.../cdc/shop/orders``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from data_platform.lineage.columns import ColumnEdge, canonical_datasets

Column = tuple[str, str, str]  # namespace, dataset name, field


def build_graph(edges: Sequence[ColumnEdge]) -> nx.MultiDiGraph:
    """Column -> column graph; edge attributes: job, transformation, subtype."""
    datasets = [(e.source_namespace, e.source_name) for e in edges] + [
        (e.target_namespace, e.target_name) for e in edges
    ]
    canon = canonical_datasets(datasets)
    graph = nx.MultiDiGraph()
    for e in edges:
        source = (*canon[(e.source_namespace, e.source_name)], e.source_field)
        target = (*canon[(e.target_namespace, e.target_name)], e.target_field)
        if source != target:
            graph.add_edge(source, target, job=e.job_name, transformation=e.transformation, subtype=e.subtype)
    return graph


def find_columns(graph: nx.MultiDiGraph, dataset: str, field: str) -> list[Column]:
    """Columns named ``field`` of the dataset ``dataset``: ``namespace/name``, or a name, or
    the end of a name (``shop.orders`` finds ``warehouse.shop.orders``); LookupError lists the
    datasets known to have that field when none matches."""
    candidates = [n for n in graph.nodes if n[2] == field]
    exact = [n for n in candidates if f"{n[0]}/{n[1]}" == dataset or n[1] == dataset]
    if exact:
        return sorted(exact)
    suffix = [n for n in candidates if n[1].endswith(("." + dataset, "/" + dataset))]
    if suffix:
        return sorted(suffix)
    known = sorted({f"{n[0]}/{n[1]}" for n in candidates})
    named = {
        (n[0], n[1])
        for n in graph.nodes
        if f"{n[0]}/{n[1]}" == dataset or n[1] == dataset or n[1].endswith(("." + dataset, "/" + dataset))
    }
    columns = sorted({n[2] for n in graph.nodes if (n[0], n[1]) in named})
    of_dataset = f"; columns of {dataset!r} in the lineage: {columns}" if named else ""
    raise LookupError(
        f"No column {field!r} of a dataset {dataset!r} in the lineage (datasets with that column: "
        f"{known}{of_dataset})."
    )


@dataclass(frozen=True)
class Step:
    """One edge of a walk, ``depth`` edges away from the start."""

    depth: int
    source: Column
    target: Column
    job: str
    transformation: str
    subtype: str


def walk(graph: nx.MultiDiGraph, start: Column, direction: str, direct_only: bool = False) -> list[Step]:
    """Every edge reachable from ``start`` going ``upstream`` or ``downstream`` (transitively,
    breadth first, each edge once; cycles end), ordered by depth then columns."""
    if direction not in ("upstream", "downstream"):
        raise ValueError(f"direction={direction!r}; use 'upstream' or 'downstream'.")
    steps: list[Step] = []
    seen_edges: set[tuple[Column, Column, str, str, str]] = set()
    frontier, visited, depth = [start], {start}, 0
    while frontier:
        depth += 1
        following: list[Column] = []
        for node in frontier:
            edges = (
                graph.in_edges(node, data=True)
                if direction == "upstream"
                else graph.out_edges(node, data=True)
            )
            for source, target, data in sorted(edges, key=lambda e: (e[0], e[1], sorted(e[2].items()))):
                if direct_only and data["transformation"] != "DIRECT":
                    continue
                key = (source, target, data["job"], data["transformation"], data["subtype"])
                if key in seen_edges:
                    continue
                seen_edges.add(key)
                steps.append(
                    Step(depth, source, target, data["job"], data["transformation"], data["subtype"])
                )
                nxt = source if direction == "upstream" else target
                if nxt not in visited:
                    visited.add(nxt)
                    following.append(nxt)
        frontier = sorted(following)
    return steps


def label(column: Column) -> str:
    """``namespace/name.field``."""
    return f"{column[0]}/{column[1]}.{column[2]}"


def draw(graph: nx.MultiDiGraph, start: Column, steps: Sequence[Step], out: Path) -> Path:
    """The walk as a left-to-right picture (SVG or PNG by ``out``'s suffix): sources on the
    left, the start column highlighted, edges labelled with job and transformation."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, selectable
    import matplotlib.pyplot as plt

    sub = nx.DiGraph()
    sub.add_node(start)
    for step in steps:
        sub.add_edge(
            step.source, step.target, label=f"{step.job}\n{step.transformation} {step.subtype}".strip()
        )
    layers = (
        {node: i for i, generation in enumerate(nx.topological_generations(sub)) for node in generation}
        if nx.is_directed_acyclic_graph(sub)
        else {n: 0 for n in sub}
    )
    nx.set_node_attributes(sub, layers, "layer")
    positions = nx.multipartite_layout(sub, subset_key="layer")
    width = 4 + 4 * (max(layers.values(), default=0) + 1)
    height = 2 + 1.2 * max((list(layers.values()).count(v) for v in set(layers.values())), default=1)
    figure, axes = plt.subplots(figsize=(width, height))
    names = {n: f"{'/'.join(n[1].rsplit('/', 2)[-2:])}\n.{n[2]}\n({n[0][:40]})" for n in sub.nodes}
    colours = ["#f6c343" if n == start else "#9cc3e6" for n in sub.nodes]
    nx.draw_networkx_nodes(sub, positions, node_color=colours, node_size=2600, node_shape="s", ax=axes)
    nx.draw_networkx_labels(sub, positions, labels=names, font_size=7, ax=axes)
    nx.draw_networkx_edges(sub, positions, arrows=True, arrowsize=14, node_size=2600, node_shape="s", ax=axes)
    nx.draw_networkx_edge_labels(
        sub, positions, edge_labels=nx.get_edge_attributes(sub, "label"), font_size=6, ax=axes
    )
    axes.set_title(f"column lineage of {label(start)}", fontsize=9)
    axes.axis("off")
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, bbox_inches="tight")
    plt.close(figure)
    return out
