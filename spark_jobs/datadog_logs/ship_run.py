"""Ship the logs of one Spark job run right after it ends (a pod / local process, no Spark).

    python -m spark_jobs.datadog_logs.ship_run --spark-job '<SparkJobOperator XCom record>' --lake-root s3://lake
    python -m spark_jobs.datadog_logs.ship_run --log-uri s3://logs --application-id A --job-run-id R --lake-root ...

The run has ended, so every file is final (``--not-final``: decide by the run's state). A task
that recorded no run (``--spark-job null``: it failed before starting one) has nothing to ship. The
API key comes from ``DATADOG_CONN`` (the task's ``datadog`` secret). Exit 0 when everything was
accepted (pending/truncated files are reported), 1 when the intake refused or stayed
unavailable, or a file was rewritten or corrupt, 2 for bad arguments. Prints the result as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

from spark_jobs.common.logs import configure_json_logging
from spark_jobs.datadog_logs.layout import JobRunLogs
from spark_jobs.datadog_logs.lineage import ShippingLineage
from spark_jobs.datadog_logs.runs import add_shipping_args, failed, ship_runs, shipping_options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ship_run", description="Ship one Spark job run's logs to Datadog.")
    parser.add_argument("--spark-job", default=None, help="SparkJobOperator's XCom record 'spark_job' (JSON)")
    parser.add_argument("--log-uri", default=None)
    parser.add_argument("--application-id", default=None)
    parser.add_argument("--job-run-id", default=None)
    parser.add_argument(
        "--not-final", action="store_true", help="the run may still be writing logs (decide by its state)"
    )
    add_shipping_args(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    record = json.loads(args.spark_job) if args.spark_job else {}
    if args.spark_job and not record:
        print(json.dumps({"shipped": False, "reason": "the Spark task recorded no job run: no logs"}))
        return 0
    log_uri = args.log_uri or record.get("log_uri")
    application_id = args.application_id or record.get("application_id")
    job_run_id = args.job_run_id or record.get("job_run_id")
    if not (log_uri and application_id and job_run_id):
        parser.error(
            "need the run: --spark-job with log_uri/application_id/job_run_id (SparkJobOperator's XCom 'spark_job') "
            "or --log-uri, --application-id and --job-run-id"
        )
    configure_json_logging(args.log_level)
    options = shipping_options(args, final=None if args.not_final else True)
    lineage = ShippingLineage(
        "datadog_logs.ship_run",
        str(job_run_id),
        [JobRunLogs(log_uri, application_id, job_run_id).prefix],
        options,
    )
    lineage.emit("START")
    results = list(ship_runs([(log_uri, application_id, job_run_id)], options))
    print(json.dumps(results[0], sort_keys=True))
    problems = failed(results)
    lineage.emit("FAIL" if problems else "COMPLETE", str(problems[0]) if problems else None)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
