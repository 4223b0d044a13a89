"""Spark job: extract the catalogue points' series from the product files of the given days.

    spark-submit ... -m spark_jobs.satellite.extract_job --lake-root URI --input-root URI \
        --points URI --days 2018-01-01,2018-01-02 [--on-bad-file skip|fail] \
        [--on-layout-change read|skip|fail] [--table dssf_timeseries] [--run-id ID]

Files are read in parallel by Spark's Python workers (one process each: the HDF5 library is not
thread-safe) with ``mapPartitions`` over lists of file URIs; each file is opened directly (S3
through range requests, never copied) and only the chunks holding points are decompressed. The
driver then writes, per day, one Parquet file per point (atomic replace) and the day's result
(rows, missing slots, bad files). If a bad file's policy is ``fail`` nothing is written for any
day of the run and the job exits 1 naming the files. Exit 2: bad arguments or catalogue.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from spark_jobs.common.args import add_common_args, csv_list_arg, default_run_id, positive_int_arg, uri_arg
from spark_jobs.common.lake import join_uri, list_files
from spark_jobs.common.lineage import ColumnSource, LineageDataset, LineageEmitter
from spark_jobs.common.logs import configure_json_logging, log_event
from spark_jobs.satellite import product
from spark_jobs.satellite.extract import (
    BadFilePolicy,
    BadFilesFailure,
    DayOutcome,
    assemble_day,
    extract_files,
)
from spark_jobs.satellite.grid import PointOutsideGridError
from spark_jobs.satellite.points import Point, PointsCatalogueError, load_points
from spark_jobs.satellite.reference import establish_reference
from spark_jobs.satellite.series_table import (
    DEFAULT_TABLE,
    SCHEMA,
    day_file_uri,
    day_result_uri,
    reference_uri,
    table_uri,
    write_day_result,
    write_point_day,
)

log = logging.getLogger("spark_jobs.satellite.extract_job")
# netCDF variables / attributes -> series columns (the agent sees files read by Python workers,
# not which variable became which column): CF-decoded values are a TRANSFORMATION, the bit field
# is copied, the slot time comes from the file's time_coverage_start, the point's grid cell
# (lat/lon) selects the values of its site.
SERIES_LINEAGE: dict[str, list[tuple[str, str, str]]] = {
    "dssf_tot": [(product.DSSF_TOT, "DIRECT", "TRANSFORMATION")],
    "fraction_diffuse": [(product.FRACTION_DIFFUSE, "DIRECT", "TRANSFORMATION")],
    "quality_flag": [(product.QUALITY_FLAG, "DIRECT", "IDENTITY")],
    "obs_time": [("time_coverage_start", "DIRECT", "TRANSFORMATION")],
    "obs_date": [("time_coverage_start", "DIRECT", "TRANSFORMATION")],
    "site_id": [("lat", "INDIRECT", "FILTER"), ("lon", "INDIRECT", "FILTER")],
}
FILES_PER_TASK = 16


def _days_arg(value: str) -> list[date]:
    """``2018-01-01,2018-01-03`` or a range ``2018-01-01..2018-01-31`` (inclusive)."""
    days: list[date] = []
    for item in csv_list_arg(value):
        first, _, last = item.partition("..")
        try:
            start, end = date.fromisoformat(first), date.fromisoformat(last or first)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{item!r} is not YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"
            ) from None
        days.extend(start + timedelta(days=n) for n in range((end - start).days + 1))
    return sorted(set(days))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="spark_jobs.satellite.extract_job", description=__doc__)
    add_common_args(parser)
    parser.add_argument("--input-root", type=uri_arg, required=True, help="product root holding YYYY/MM/DD/")
    parser.add_argument("--points", type=uri_arg, required=True, help="points catalogue (YAML)")
    parser.add_argument("--days", type=_days_arg, required=True, help="days to (re)extract")
    parser.add_argument("--table", default=DEFAULT_TABLE, help="series table name under <lake>/satellite/")
    parser.add_argument("--on-bad-file", default="skip", choices=["skip", "fail"])
    parser.add_argument("--on-layout-change", default="read", choices=["read", "skip", "fail"])
    parser.add_argument("--slots-per-day", type=positive_int_arg, default=product.SLOTS_PER_DAY)
    parser.add_argument("--files-per-task", type=positive_int_arg, default=FILES_PER_TASK)
    return parser.parse_args(argv)


def day_inputs(input_root: str, day: date) -> tuple[list[str], list[str]]:
    """The day folder's product files and its other (ignored, reported) file names."""
    found = [f.uri for f in list_files(join_uri(input_root, product.day_folder(day)))]
    names = [uri.rsplit("/", 1)[-1] for uri in found]
    files = [uri for uri, name in zip(found, names, strict=True) if product.slot_of_name(name)]
    ignored = [
        name
        for uri, name in zip(found, names, strict=True)
        if not product.slot_of_name(name) and not name.startswith((".", "_"))
    ]
    return files, ignored


def _read_all(files: list[str], reference: Any, files_per_task: int) -> list[dict[str, Any]]:
    """Per-file results, read by Spark's Python workers (processes) in parallel."""
    from spark_jobs.common.session import build_spark_session

    if not files:
        return []
    spark = build_spark_session("satellite_extract")
    slices = max(1, math.ceil(len(files) / files_per_task), spark.sparkContext.defaultParallelism)
    slices = min(slices, len(files))
    return (
        spark.sparkContext.parallelize(files, slices)
        .mapPartitions(lambda uris: extract_files(uris, reference))
        .collect()
    )


def _write_day(args: argparse.Namespace, outcome: DayOutcome, points: tuple[Point, ...]) -> dict[str, Any]:
    outputs = []
    for point in points:
        uri = day_file_uri(args.lake_root, args.table, point.site_id, outcome.day)
        write_point_day(uri, outcome.rows[point.site_id])
        outputs.append(uri)
    document = {
        **outcome.summary(),
        "status": "success",
        "run_id": args.run_id,
        "expected_slots": args.slots_per_day,
        "outputs": outputs,
    }
    write_day_result(day_result_uri(args.lake_root, args.table, outcome.day), document)
    return document


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Extract every requested day; returns the day results. Raises BadFilesFailure."""
    points = load_points(args.points)
    inputs = {day: day_inputs(args.input_root, day) for day in args.days}
    all_files = [uri for files, _ in inputs.values() for uri in files]
    reference = establish_reference(reference_uri(args.lake_root, args.table), all_files, points)
    policy = BadFilePolicy(args.on_bad_file, args.on_layout_change)
    log_event(
        log, "extracting", days=len(args.days), files=len(all_files), points=len(points), policy=str(policy)
    )
    if reference is None:
        results = [
            {
                "file": uri,
                "status": "bad",
                "kind": "unreadable",
                "message": "no readable file to take the grid from",
            }
            for uri in all_files
        ]
    else:
        results = _read_all(all_files, reference, args.files_per_task)
    by_file = {r["file"]: r for r in results}
    outcomes = [
        assemble_day(day, [by_file[uri] for uri in files], points, policy, args.slots_per_day, ignored)
        for day, (files, ignored) in inputs.items()
    ]  # raises BadFilesFailure before anything is written
    documents = [_write_day(args, outcome, points) for outcome in outcomes]
    for document in documents:
        log_event(
            log,
            "day extracted",
            **{k: document[k] for k in ("day", "files_read", "rows", "missing_slots")},
            bad_files=len(document["bad_files"]),
        )
    return documents


def emit_lineage(
    args: argparse.Namespace, spark_conf: Mapping[str, str], event: str, error: str | None = None
) -> None:
    """The run's OpenLineage event: product files -> series table, with the variable -> column
    lineage (:data:`SERIES_LINEAGE`) on completion; a no-op without a configured transport."""
    source = LineageDataset.from_uri(args.input_root)
    table = LineageDataset.from_uri(table_uri(args.lake_root, args.table))
    if event == "COMPLETE":
        mapping = {
            column: [ColumnSource(source, field, kind, subtype) for field, kind, subtype in sources]
            for column, sources in SERIES_LINEAGE.items()
        }
        table = table.with_column_lineage(mapping, [(f.name, str(f.type)) for f in SCHEMA])
    emitter = LineageEmitter.for_spark_job(spark_conf)
    emitter.emit(
        event, f"satellite_extract.{args.table}", args.run_id, [source], [table], error_message=error
    )


def _spark_conf() -> dict[str, str]:
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    return dict(session.sparkContext.getConf().getAll()) if session else {}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.run_id = args.run_id or default_run_id()
    configure_json_logging(args.log_level)
    try:
        documents = run(args)
        emit_lineage(args, _spark_conf(), "COMPLETE")
    except (PointsCatalogueError, PointOutsideGridError) as exc:
        log_event(log, str(exc), level=logging.ERROR, kind=type(exc).__name__)
        return 2
    except BadFilesFailure as exc:
        log_event(log, str(exc), level=logging.ERROR, kind="bad_files")
        emit_lineage(args, _spark_conf(), "FAIL", str(exc))
        return 1
    print(
        json.dumps(
            {
                "run_id": args.run_id,
                "days": [
                    {k: d[k] for k in ("day", "rows", "files_read", "missing_slots")} for d in documents
                ],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
