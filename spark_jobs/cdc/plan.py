"""Plan a cadence's merge: which tables have new DMS files, in batches of Spark jobs.

    python -m spark_jobs.cdc.plan --cadence hourly --config-dir include/cdc/tables \\
        --landing-root s3://landing --lake-root s3://lake [--output s3://.../plan.json]

Prints the plan as JSON (and writes it to ``--output``). Runs without Spark, e.g. as a pod task.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from spark_jobs.cdc.dms_files import list_landed_files
from spark_jobs.cdc.layout import TableLayout, landing_table_uri
from spark_jobs.cdc.results import utc_now
from spark_jobs.cdc.table_config import TableConfig, cadence_to_cron, chunk_batches, load_table_configs
from spark_jobs.cdc.tracker import FileTracker
from spark_jobs.common.args import uri_arg
from spark_jobs.common.lake import write_json_atomic
from spark_jobs.common.task_result import write_task_result


def pending_file_count(config: TableConfig, landing_root: str, lake_root: str) -> tuple[int, list[str]]:
    """(number of files not yet processed or rewritten since, ignored non-DMS paths) for one table.

    A rewritten file counts even if its bytes are the same (no digest here): the merge tells
    and records its new fingerprint, so it is not counted again."""
    landed, ignored = list_landed_files(landing_table_uri(landing_root, config.landing_folder))
    tracker = FileTracker(TableLayout(lake_root, config.database, config.table))
    return len(tracker.changed_files(tracker.load_state(), landed)), ignored


def plan_cadence(
    configs: list[TableConfig], cadence: str, landing_root: str, lake_root: str
) -> dict[str, Any]:
    """The plan of one cadence: batches (lists of table ids) of the tables with pending files.

    Batches follow :func:`~spark_jobs.cdc.table_config.chunk_batches` (grouped by batch_size,
    then by table id), so the same pending tables always give the same batches.
    """
    cadence_to_cron(cadence)
    tables: dict[str, dict[str, Any]] = {}
    ready = []
    for config in sorted((c for c in configs if c.cadence == cadence), key=lambda c: c.table_id):
        pending, ignored = pending_file_count(config, landing_root, lake_root)
        tables[config.table_id] = {"pending_files": pending, "ignored_files": ignored}
        if pending:
            ready.append(config)
    batches = [
        {"batch_id": f"{cadence}-{index:03d}", "tables": [c.table_id for c in batch]}
        for index, batch in enumerate(chunk_batches(ready))
    ]
    return {
        "cadence": cadence,
        "created_at": utc_now(),
        "landing_root": landing_root,
        "lake_root": lake_root,
        "batches": batches,
        "tables": tables,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m spark_jobs.cdc.plan", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--cadence", required=True, help="e.g. 10min, hourly, daily")
    parser.add_argument("--config-dir", required=True, help="folder (or file / URI) of CDC table configs")
    parser.add_argument("--landing-root", type=uri_arg, required=True, help="DMS landing root URI")
    parser.add_argument("--lake-root", type=uri_arg, required=True, help="lake root URI")
    parser.add_argument("--output", type=uri_arg, default=None, help="also write the plan JSON here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plan = plan_cadence(load_table_configs(args.config_dir), args.cadence, args.landing_root, args.lake_root)
    if args.output:
        write_json_atomic(args.output, plan)
    write_task_result(plan)
    print(json.dumps(plan, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
