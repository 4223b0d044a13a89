"""Argument helpers shared by the job entry points (plain argparse: jobs run under spark-submit)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from spark_jobs.common.lake import normalize_uri


def uri_arg(value: str) -> str:
    """argparse type: a local path or a file:// / s3:// URI, normalized to a URI."""
    try:
        return normalize_uri(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def csv_list_arg(value: str) -> list[str]:
    """argparse type: ``a,b , c`` -> ``["a", "b", "c"]``."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list with at least one item")
    return items


def positive_int_arg(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return number


def default_run_id() -> str:
    """A run id for manual runs; orchestrated runs pass their own (e.g. the Airflow run id)."""
    return "manual__" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--lake-root``, ``--run-id`` and ``--log-level``, shared by every job."""
    parser.add_argument("--lake-root", type=uri_arg, required=True, help="lake root URI (file:// or s3://)")
    parser.add_argument(
        "--run-id",
        default=None,
        help="identifies this run in state, results and quarantine (default: manual__<utc time>)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
