"""Spark job: the Jira tables of a site from its committed syncs (see ``transform``).

    spark-submit spark_jobs/jira/transform_job.py --site acme --lake-root s3://lake --run-id RUN

Writes each table to ``<lake>/jira/<site>/tables/<table>/run=<run_id>/`` (a rerun of the run
replaces its own output), then the result JSON ``_state/results/<run_id>.json`` (files and row
counts, read by the DAG's load tasks), and prints it. Exit 0 done, 1 failed, 2 bad arguments or
no committed sync yet.
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a file by spark-submit: import `spark_jobs` from the checkout /
    # the --py-files archive instead of the script's own folder
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import json
import logging
from typing import TYPE_CHECKING, Any

from spark_jobs.common.args import add_common_args, default_run_id
from spark_jobs.common.lake import list_files, write_json_atomic
from spark_jobs.common.lineage import LineageDataset, LineageEmitter
from spark_jobs.common.logs import configure_json_logging
from spark_jobs.jira.layout import SiteLayout
from spark_jobs.jira.lineage import output_datasets
from spark_jobs.jira.transform import TABLES, NoSyncsError, build_tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("spark_jobs.jira.transform_job")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="transform_job.py", description="Build the Jira tables of a site.")
    parser.add_argument("--site", required=True, help="the site folder (include/jira/jira.yaml: site)")
    add_common_args(parser)
    return parser


def run(spark: SparkSession, layout: SiteLayout, run_id: str) -> dict[str, Any]:
    tables, facts = build_tables(spark, layout)
    files: dict[str, list[str]] = {}
    rows: dict[str, int] = {}
    for name in TABLES:
        frame = tables[name].cache()
        rows[name] = frame.count()
        target = layout.table_uri(name, run_id)
        frame.coalesce(1).write.mode("overwrite").parquet(target)
        frame.unpersist()
        files[name] = [f.uri for f in list_files(target) if f.uri.endswith(".parquet")]
    result = {
        "run_id": run_id,
        "site": layout.site,
        "syncs": facts["syncs"],
        "newest_sync": facts["newest_sync"],
        "custom_columns": facts["custom_columns"],
        "versions": rows["issues_raw"],
        "issues": rows["issues"],
        "deleted": rows["issues_changes"] - rows["issues"],
        "status_changes": rows["status_history"],
        "files": files,
    }
    write_json_atomic(layout.result_uri(run_id), result)
    return {**result, "inputs": facts["input_uris"], "field_map": facts["field_map"]}


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    args = build_parser().parse_args(argv)
    run_id = args.run_id or default_run_id()
    configure_json_logging(args.log_level)
    layout = SiteLayout(args.lake_root, args.site)
    job_name = f"jira_transform.{args.site}"
    landing = LineageDataset.from_uri(layout.landing)
    inputs = [landing]
    tables = {name: LineageDataset.from_uri(f"{layout.root}/tables/{name}") for name in TABLES}
    outputs = output_datasets(landing, tables, None)
    own_session = spark is None
    if spark is None:
        from spark_jobs.common.session import build_spark_session

        spark = build_spark_session("jira-transform")
    lineage = LineageEmitter.for_spark_job(dict(spark.sparkContext.getConf().getAll()))
    lineage.emit("START", job_name, run_id, inputs, outputs)
    try:
        result = run(spark, layout, run_id)
    except NoSyncsError as err:
        log.error("%s", err)
        lineage.emit("FAIL", job_name, run_id, inputs, outputs, error_message=str(err))
        return 2
    except Exception as err:
        log.exception("Jira transform failed")
        lineage.emit("FAIL", job_name, run_id, inputs, outputs, error_message=str(err))
        return 1
    finally:
        if own_session:
            spark.stop()
    lineage.emit(
        "COMPLETE", job_name, run_id, inputs, output_datasets(landing, tables, result.pop("field_map"))
    )
    result.pop("inputs")
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
