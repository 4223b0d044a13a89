"""Spark job: ship whatever Spark job logs are left behind, many runs in parallel.

    spark-submit spark_jobs/datadog_logs/sweep_job.py --log-uri s3://logs/emr-serverless \\
        --lake-root s3://lake [--application-id A] [--settle-minutes 30] [--secret-id airflow/connections/datadog_api]

The driver lists the job runs under ``<logUri>/applications/*/jobs/``; the executors ship them
(one partition = a few runs, each partition opens its own intake client and reads the secret
itself). Files unchanged for ``--settle-minutes`` are final. The summary goes to
``<lake>/_state/datadog_logs/sweeps/<run_id>.json`` and stdout. Exit 0 when every run shipped,
1 when a run failed (the others still shipped), 2 for bad arguments.
"""

from __future__ import annotations

import os
import sys

if __package__ in (
    None,
    "",
):  # run as a file by spark-submit: import `spark_jobs` from the checkout / --py-files
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import json
import logging
from collections.abc import Iterator
from typing import Any

from spark_jobs.common.args import default_run_id, positive_int_arg
from spark_jobs.common.lake import join_uri, write_json_atomic
from spark_jobs.common.logs import configure_json_logging, log_event
from spark_jobs.datadog_logs.checkpoint import STATE_FOLDER
from spark_jobs.datadog_logs.layout import list_job_runs
from spark_jobs.datadog_logs.lineage import ShippingLineage
from spark_jobs.datadog_logs.runs import add_shipping_args, failed, ship_runs, shipping_options

log = logging.getLogger("spark_jobs.datadog_logs.sweep_job")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sweep_job.py", description="Ship Spark job logs left behind to Datadog."
    )
    parser.add_argument("--log-uri", required=True, help="EMR Serverless logUri (s3:// or file://)")
    parser.add_argument("--application-id", default=None, help="only this application (default: all)")
    parser.add_argument("--run-id", default=None, help="this sweep's id (summary file name)")
    parser.add_argument(
        "--parallelism", type=positive_int_arg, default=None, help="partitions (default: Spark's)"
    )
    add_shipping_args(parser)
    return parser


def _ship_partition(options: dict[str, Any]) -> Any:
    def ship(runs: Iterator[tuple[str, str, str]]) -> Iterator[dict[str, Any]]:
        from spark_jobs.common.logs import configure_json_logging

        configure_json_logging("INFO")
        batch = list(runs)
        if batch:
            yield from ship_runs(batch, options)

    return ship


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_json_logging(args.log_level)
    run_id = args.run_id or default_run_id()
    runs = [
        (r.log_uri, r.application_id, r.job_run_id) for r in list_job_runs(args.log_uri, args.application_id)
    ]
    log_event(log, "job runs found", runs=len(runs), log_uri=args.log_uri)
    options = shipping_options(args, final=None)
    from spark_jobs.common.session import build_spark_session

    spark = build_spark_session("datadog_logs_sweep")
    folder = ("applications", args.application_id) if args.application_id else ("applications",)
    lineage = ShippingLineage(
        "datadog_logs.sweep",
        run_id,
        [join_uri(args.log_uri, *folder)],
        options,
        dict(spark.sparkContext.getConf().getAll()),
    )
    lineage.emit("START")
    results: list[dict[str, Any]] = []
    if runs:
        slices = min(len(runs), args.parallelism or spark.sparkContext.defaultParallelism)
        try:
            results = (
                spark.sparkContext.parallelize(runs, slices).mapPartitions(_ship_partition(options)).collect()
            )
        except Exception as err:
            lineage.emit("FAIL", f"{type(err).__name__}: {err}")
            raise
    summary = {
        "run_id": run_id,
        "runs": len(runs),
        "records": sum(r.get("records", 0) for r in results),
        "entries": sum(r.get("entries", 0) for r in results),
        "late_entries": sum(r.get("late_entries", 0) for r in results),
        "pending": sum(len(r.get("pending", [])) for r in results),
        "failed": failed(results),
        "results": results,
    }
    write_json_atomic(join_uri(args.lake_root, STATE_FOLDER, "sweeps", f"{run_id}.json"), summary)
    lineage.emit(
        "FAIL" if summary["failed"] else "COMPLETE",
        f"{len(summary['failed'])} run(s) failed" if summary["failed"] else None,
    )
    log_event(log, "sweep done", **{k: v for k, v in summary.items() if k != "results"})
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}, sort_keys=True, default=str))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
