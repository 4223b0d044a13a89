"""Ask the column lineage: where does a column come from, what depends on it, and a picture.

    python -m data_platform.lineage upstream   DATASET COLUMN [--edges URI] [--direct]
    python -m data_platform.lineage downstream DATASET COLUMN [--edges URI] [--direct]
    python -m data_platform.lineage picture    DATASET COLUMN --out lineage.svg [--downstream]
    python -m data_platform.lineage process    # the lineage DAG's processing, on this target
    python -m data_platform.lineage transport  # the OpenLineage transport JSON of this environment

DATASET is ``namespace/name``, a name, or the end of a name (``shop.orders`` finds
``warehouse.shop.orders``); COLUMN a column (field) of it. ``--edges`` defaults to the table of
the current environment (``<lineage root>/column_lineage/edges.json``, written by ``process``).
Exit code 2 with the known datasets when the column is not in the lineage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from data_platform.lineage.graph import build_graph, draw, find_columns, label, walk


def _default_edges_uri() -> str:
    from data_platform.lineage.processing import EDGES_JSON, lineage_root
    from data_platform.lineage.tasks import lineage_config
    from data_platform.settings import get_settings

    _, raw = lineage_config(get_settings())
    return f"{lineage_root(raw)}/{EDGES_JSON}"


def _edges_uri(given: str | None) -> str:
    """``--edges`` as a lake URI: a URI as given, a local path as ``file://`` (absolute)."""
    if given is None:
        return _default_edges_uri()
    return given if "://" in given else Path(given).resolve().as_uri()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_platform.lineage", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("process", help="raw events -> validated -> column lineage table")
    sub.add_parser(
        "transport", help="the value of Airflow's [openlineage] transport option (MWAA configuration)"
    )
    for name in ("upstream", "downstream", "picture"):
        command = sub.add_parser(name)
        command.add_argument("dataset")
        command.add_argument("column")
        command.add_argument("--edges", help="edges.json of a processing run")
        command.add_argument("--direct", action="store_true", help="DIRECT transformations only")
        if name == "picture":
            command.add_argument("--out", type=Path, required=True, help=".svg or .png")
            command.add_argument("--downstream", action="store_true", help="draw downstream instead")
    args = parser.parse_args(argv)

    if args.command == "process":
        from data_platform.lineage.tasks import process_events

        print(json.dumps(process_events(), indent=1))
        return 0

    if args.command == "transport":
        from data_platform.lineage.tasks import environment_transport

        print(json.dumps(environment_transport(), sort_keys=True))
        return 0

    from data_platform.lake import storage
    from data_platform.lineage.processing import read_edges

    edges_uri = _edges_uri(args.edges)
    if not storage.exists(edges_uri):
        print(
            f"No column lineage table at {edges_uri}: the `lineage` DAG writes it (locally `make demo` "
            "runs it, or `make demo <the pipelines> lineage`); run it first, or pass --edges with the "
            "edges.json of a processing run.",
            file=sys.stderr,
        )
        return 2
    graph = build_graph(read_edges(edges_uri))
    try:
        starts = find_columns(graph, args.dataset, args.column)
    except LookupError as err:
        print(err, file=sys.stderr)
        return 2
    direction = (
        "downstream" if args.command == "downstream" or getattr(args, "downstream", False) else "upstream"
    )
    for start in starts:
        steps = walk(graph, start, direction, direct_only=args.direct)
        if args.command == "picture":
            out = (
                args.out if len(starts) == 1 else args.out.with_stem(f"{args.out.stem}-{starts.index(start)}")
            )
            print(draw(graph, start, steps, out))
            continue
        print(f"{direction} of {label(start)}:")
        for step in steps:
            far = step.source if direction == "upstream" else step.target
            kind = f"{step.transformation} {step.subtype}".strip()
            print(f"{'  ' * step.depth}{label(far)}  [{kind}, job {step.job}]")
        if not steps:
            print("  (nothing)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
