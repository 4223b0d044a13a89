"""Spark job: merge the new DMS files of a batch of CDC tables into the lake.

    spark-submit spark_jobs/cdc/merge_job.py --config-dir include/cdc/tables \\
        --landing-root s3://landing --lake-root s3://lake --run-id RUN \\
        (--tables shop.customers,shop.orders | --batch-json '{"tables": [...]}' | --batch-json s3://.../plan-batch.json)

Every table gets a result JSON at ``<lake>/_state/cdc/<db>/<table>/history/<run_id>.json``
and in the batch summary (``--result-uri`` and the last stdout line). Exit status: 0 when
every table has a result, whatever its status, so the orchestrator fails only the failed
tables' downstream tasks; 3 with ``--fail-on-table-error`` if a table failed; 2 for bad
arguments or table configs; 1 when the job itself broke (e.g. results could not be written).
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a file by spark-submit: import `spark_jobs` from the checkout /
    # the --py-files archive instead of the script's own folder (its modules are not top-level modules)
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import json
import logging
from typing import TYPE_CHECKING, Any

from spark_jobs.cdc.merge import MergeSettings, merge_tables
from spark_jobs.cdc.results import STATUS_FAILED, utc_now
from spark_jobs.cdc.sinks.hudi import HiveSync
from spark_jobs.cdc.table_config import TableConfig, TableConfigError, load_table_configs, select_tables
from spark_jobs.common.args import add_common_args, csv_list_arg, default_run_id, positive_int_arg, uri_arg
from spark_jobs.common.lake import read_json, write_json_atomic
from spark_jobs.common.lineage import LineageEmitter
from spark_jobs.common.lock import DEFAULT_TTL_SECONDS
from spark_jobs.common.logs import configure_json_logging

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("spark_jobs.cdc.merge_job")

EXIT_OK = 0
EXIT_JOB_ERROR = 1
EXIT_USAGE = 2
EXIT_TABLE_FAILED = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="merge_job.py", description="Merge DMS CDC files into lake tables.")
    tables = parser.add_mutually_exclusive_group(required=True)
    tables.add_argument("--tables", type=csv_list_arg, help="comma-separated table ids (<database>.<table>)")
    tables.add_argument(
        "--batch-json",
        help='a batch as JSON ({"tables": [...]} or [...]) or the URI of a file holding it',
    )
    parser.add_argument("--config-dir", required=True, help="folder (or file / URI) of CDC table configs")
    parser.add_argument("--landing-root", type=uri_arg, required=True, help="DMS landing root URI")
    add_common_args(parser)
    parser.add_argument("--sink", choices=["auto", "hudi", "snapshot"], default="auto")
    parser.add_argument("--hive-sync", action="store_true", help="Hudi: sync tables to the Glue Data Catalog")
    parser.add_argument("--lock-ttl-minutes", type=positive_int_arg, default=int(DEFAULT_TTL_SECONDS // 60))
    parser.add_argument(
        "--result-uri", type=uri_arg, default=None, help="also write the batch summary JSON here"
    )
    parser.add_argument("--fail-on-table-error", action="store_true", help="exit 3 when any table failed")
    return parser


def batch_table_ids(batch_json: str) -> list[str]:
    """Table ids from a batch given inline or as a URI (``{"tables": [...]}`` or a plain list)."""
    text = batch_json.strip()
    document = json.loads(text) if text[:1] in "[{" else read_json(uri_arg(text))
    if document is None:
        raise ValueError(f"batch file {batch_json!r} does not exist")
    tables = document.get("tables") if isinstance(document, dict) else document
    if not isinstance(tables, list) or not tables or not all(isinstance(t, str) for t in tables):
        raise ValueError('a batch must be {"tables": ["<database>.<table>", ...]} or a list of table ids')
    return tables


def run(spark: SparkSession, args: argparse.Namespace, configs: list[TableConfig]) -> dict[str, Any]:
    """Merge the batch's tables and return the summary (also written to ``--result-uri``)."""
    started = utc_now()
    settings = MergeSettings(
        landing_root=args.landing_root,
        lake_root=args.lake_root,
        run_id=args.run_id,
        sink=args.sink,
        hive_sync=HiveSync(enabled=args.hive_sync),
        lock_ttl_seconds=args.lock_ttl_minutes * 60,
        lineage=LineageEmitter.for_spark_job(dict(spark.sparkContext.getConf().getAll())),
    )
    results = merge_tables(spark, configs, settings)
    statuses: dict[str, int] = {}
    for result in results:
        statuses[result.status] = statuses.get(result.status, 0) + 1
    summary = {
        "run_id": args.run_id,
        "started_at": started,
        "finished_at": utc_now(),
        "status_counts": statuses,
        "tables": [r.to_dict() for r in results],
    }
    if args.result_uri:
        write_json_atomic(args.result_uri, summary)
    return summary


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point; pass ``spark`` to run in-process (tests) instead of building a session."""
    args = build_parser().parse_args(argv)
    args.run_id = args.run_id or default_run_id()
    configure_json_logging(args.log_level)
    try:
        table_ids = args.tables or batch_table_ids(args.batch_json)
        configs = select_tables(load_table_configs(args.config_dir), table_ids)
    except (TableConfigError, ValueError) as exc:
        log.error("invalid arguments or table configs: %s", exc)
        return EXIT_USAGE
    own_session = spark is None
    if spark is None:
        from spark_jobs.common.session import build_spark_session

        spark = build_spark_session("cdc-merge")
    try:
        summary = run(spark, args, configs)
    except Exception:
        log.exception("CDC merge job failed")
        return EXIT_JOB_ERROR
    finally:
        if own_session:
            spark.stop()
    print(json.dumps(summary, sort_keys=True, default=str))
    if args.fail_on_table_error and summary["status_counts"].get(STATUS_FAILED):
        return EXIT_TABLE_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
