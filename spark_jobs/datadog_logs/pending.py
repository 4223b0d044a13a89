"""Is there anything for a sweep to ship? The sweep's planning step, without Spark.

    python3.11 -m spark_jobs.datadog_logs.pending <the sweep's arguments>

Lists the job runs under ``<logUri>/applications/*/jobs/`` as the sweep's driver does and
reads their files' checkpoints as each shipper does first (``runs.all_shipped``). Prints
``{"runs": N, "pending": [{"application_id", "job_run_id"}...]}``; exits 0 when a run has
something to ship (the sweep starts), ``NOTHING_PENDING_EXIT_CODE`` when every run is shipped
(the DAG's pod task has it as ``skip_on_exit_code``: the sweep is skipped, no Spark started),
2 for bad arguments. It takes the sweep's own arguments (``sweep_job.build_parser``), so the
two always look at the same log location and checkpoints.
"""

from __future__ import annotations

import json
import sys

from spark_jobs.datadog_logs.layout import list_job_runs, list_log_files
from spark_jobs.datadog_logs.runs import all_shipped
from spark_jobs.datadog_logs.sweep_job import build_parser

NOTHING_PENDING_EXIT_CODE = 99


def pending_runs(
    log_uri: str, lake_root: str, application_id: str | None = None
) -> tuple[int, list[dict[str, str]]]:
    """(job runs found, those with something to ship)."""
    runs = list_job_runs(log_uri, application_id)
    pending = [
        {"application_id": run.application_id, "job_run_id": run.job_run_id}
        for run in runs
        if not all_shipped(list_log_files(run), lake_root)
    ]
    return len(runs), pending


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    runs, pending = pending_runs(args.log_uri, args.lake_root, args.application_id)
    print(json.dumps({"runs": runs, "pending": pending}, sort_keys=True))
    return 0 if pending else NOTHING_PENDING_EXIT_CODE


if __name__ == "__main__":
    sys.exit(main())
