"""The compiled CDC table index: every table config validated once, in one JSON document.

The YAML files of ``cdc/tables/`` are what people edit; the index is what runs. It is compiled
(and so validated) when the MWAA bundle is built (``data_platform.deploy.bundle``), when the
local runtime starts and in tests, and read by:

- the CDC DAG file at parse time, with ``json`` only (cadences and schedules: no pydantic,
  no YAML, no ``spark_jobs`` on the MWAA workers);
- the run-time tasks, which copy one cadence's tables into the run's folder in the lake, so the
  planner pod and the merge job read the configuration the DAG was built from.

Format (``format: cdc-table-index/1``)::

    {"format": "cdc-table-index/1",
     "system_columns": {"op": "_cdc_op", "seq": "_cdc_seq"},
     "cadences": {"hourly": {"schedule": "0 * * * *", "tables": ["shop.orders", ...]}},
     "tables": {"shop.orders": {<TableConfig fields, defaults merged>, "table_id": ...,
                                "database": ..., "table": ...}}}

    python -m spark_jobs.cdc.table_index include/cdc/tables [more folders...] --out tables.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from spark_jobs.cdc.table_config import (
    INDEX_DERIVED_FIELDS,
    INDEX_FORMAT,
    OP_COLUMN,
    SEQ_COLUMN,
    TableConfig,
    TableConfigError,
    cadence_to_cron,
    cadences,
    load_table_configs,
)


def compile_index(configs: Iterable[TableConfig]) -> dict[str, Any]:
    """The index document of ``configs`` (sorted by table id; deterministic)."""
    ordered = sorted(configs, key=lambda c: c.table_id)
    tables = {
        c.table_id: {**c.model_dump(mode="json"), **{name: getattr(c, name) for name in INDEX_DERIVED_FIELDS}}
        for c in ordered
    }
    return {
        "format": INDEX_FORMAT,
        "system_columns": {"op": OP_COLUMN, "seq": SEQ_COLUMN},
        "cadences": {
            cadence: {
                "schedule": cadence_to_cron(cadence),
                "tables": [c.table_id for c in ordered if c.cadence == cadence],
            }
            for cadence in cadences(ordered)
        },
        "tables": tables,
    }


def compile_folders(folders: Sequence[str | Path]) -> dict[str, Any]:
    """Validate the YAML configs of every folder (a lake table configured twice is an error)
    and return their index. Raises :class:`TableConfigError` naming file, table and field."""
    configs: list[TableConfig] = []
    for folder in folders:
        if Path(folder).is_dir():
            configs.extend(load_table_configs(folder))
    seen: dict[str, int] = {}
    for config in configs:
        seen[config.table_id] = seen.get(config.table_id, 0) + 1
    twice = sorted(table_id for table_id, count in seen.items() if count > 1)
    if twice:
        raise TableConfigError(f"lake tables configured in more than one folder of {list(folders)}: {twice}")
    return compile_index(configs)


def index_bytes(index: dict[str, Any]) -> bytes:
    """The index as deterministic, compact JSON bytes (same configs -> same bytes)."""
    return json.dumps(index, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spark_jobs.cdc.table_index", description=__doc__.split("\n")[0]
    )
    parser.add_argument("folders", nargs="+", help="folders of <source_db>.yaml table configs")
    parser.add_argument("--out", required=True, help="index file to write")
    args = parser.parse_args(argv)
    try:
        index = compile_folders(args.folders)
    except TableConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(index_bytes(index))
    print(f"{args.out}: {len(index['tables'])} tables, cadences {sorted(index['cadences'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
