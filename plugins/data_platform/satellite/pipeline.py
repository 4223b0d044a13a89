"""What the satellite_timeseries DAG needs from its config and from the extraction job.

Parse time: :func:`pipeline_config` reads ``satellite/pipeline.yaml`` from the include folders
(once per process). Run time, with the target's settings (the only way target-dependent values
reach the tasks): :func:`run_inputs` ships the points catalogue the DAG was built with into the
run's folder in the lake and returns the sensor's day folder and the extraction job's arguments;
:func:`day_load` turns the day's extraction result into the warehouse load's inputs and reports
missing slots and bad files.

Nothing here imports ``spark_jobs`` (not importable on MWAA): the lake paths below follow
``spark_jobs.satellite.series_table`` (tests/satellite check that both give the same paths).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from data_platform.config import load_yaml, validate_config

CONFIG_FILE = "satellite/pipeline.yaml"


class SatelliteConfig(BaseModel):
    """include/satellite/pipeline.yaml; every field is required (see the file's comments)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_prefix: str = Field(min_length=1)  # under landing_root, or a URI
    points: str = Field(min_length=1)  # include-relative path of the points catalogue
    table: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # lake: <lake_root>/satellite/<table>/
    warehouse_table: str = Field(min_length=1)
    slots_per_day: int = Field(gt=0)
    wait_timeout_minutes: float = Field(ge=0)
    poke_interval_minutes: float = Field(gt=0)
    on_bad_file: Literal["skip", "fail"]
    on_layout_change: Literal["read", "skip", "fail"]
    max_active_runs: int = Field(gt=0)


@cache
def pipeline_config() -> SatelliteConfig:
    """The validated config; a ConfigError names the file and every invalid field."""
    return validate_config(SatelliteConfig, load_yaml(CONFIG_FILE), f"include/{CONFIG_FILE}")


def _join(*parts: str) -> str:
    return "/".join([parts[0].rstrip("/"), *(p.strip("/") for p in parts[1:] if p)])


def _safe_run_id(run_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.=" else "_" for ch in run_id)


def input_root(landing_root: str, config: SatelliteConfig) -> str:
    """The product root (holding ``YYYY/MM/DD/``): a URI prefix stays as it is."""
    if "://" in config.input_prefix:
        return config.input_prefix.rstrip("/")
    return _join(landing_root, config.input_prefix)


def state_uri(lake_root: str, table: str) -> str:
    """``spark_jobs.satellite.series_table.state_uri``."""
    return _join(lake_root, "_state", "satellite", table)


def day_result_uri(lake_root: str, table: str, ds: str) -> str:
    """``spark_jobs.satellite.series_table.day_result_uri``: the last extraction of day ``ds``."""
    return _join(state_uri(lake_root, table), "days", f"{ds}.json")


def run_points_uri(lake_root: str, table: str, run_id: str) -> str:
    """Where a run's points catalogue lives: ``<lake>/_state/satellite/<table>/runs/<run_id>/points.yaml``."""
    return _join(state_uri(lake_root, table), "runs", _safe_run_id(run_id), "points.yaml")


def run_inputs(ds: str, run_id: str) -> dict[str, Any]:
    """Ship the points catalogue with this run (a rerun rewrites the same bytes) and return
    ``{"day_folder": URI, "extract_arguments": [...]}`` for day ``ds`` (YYYY-MM-DD)."""
    from data_platform.lake.storage import write_bytes
    from data_platform.paths import include_file
    from data_platform.settings import get_settings

    settings = get_settings()
    config = pipeline_config()
    catalogue = include_file(config.points)
    if not catalogue.is_file():
        raise FileNotFoundError(
            f"{catalogue} does not exist: include/{CONFIG_FILE} names points={config.points!r}, "
            "a file under include/ (see README 'Satellite time series')."
        )
    points = write_bytes(run_points_uri(settings.lake_root, config.table, run_id), catalogue.read_bytes())
    root = input_root(settings.landing_root, config)
    return {
        "day_folder": _join(root, ds.replace("-", "/")),
        "extract_arguments": [
            "--lake-root", settings.lake_root,
            "--input-root", root,
            "--points", points,
            "--days", ds,
            "--table", config.table,
            "--on-bad-file", config.on_bad_file,
            "--on-layout-change", config.on_layout_change,
            "--slots-per-day", str(config.slots_per_day),
            "--run-id", run_id,
        ],
    }  # fmt: skip


def day_load(ds: str, run_id: str, context: Any | None = None) -> dict[str, Any]:
    """The warehouse load's inputs from the extraction result of day ``ds`` written by ``run_id``.

    Missing slots and bad files are logged and sent through the standard alert policy (event
    ``rejected_input``); the load goes on with the slots present. Raises when the day has no
    result of this run (the extraction did not finish).
    """
    import json
    import logging

    from airflow.sdk.exceptions import AirflowException

    from data_platform.alerting import ALERT_POLICY_STANDARD, AlertEvent, send_alert
    from data_platform.lake.storage import exists, read_bytes
    from data_platform.settings import get_settings

    config = pipeline_config()
    location = day_result_uri(get_settings().lake_root, config.table, ds)
    result = json.loads(read_bytes(location)) if exists(location) else None
    if not isinstance(result, dict) or result.get("run_id") != run_id:
        raise AirflowException(
            f"No extraction result of run {run_id} for {ds} "
            f"(found: {result.get('run_id') if isinstance(result, dict) else None}); "
            "see the extract task's log."
        )
    log = logging.getLogger(__name__)
    missing, bad = result["missing_slots"], result["bad_files"]
    if missing or bad:
        message = (
            f"{ds}: {result['files_read']} of {result['expected_slots']} slots extracted; "
            f"missing slots (UTC): {', '.join(missing) or 'none'}; "
            + "; ".join(f"{b['file']}: {b['kind']} ({b['action']}): {b['message']}" for b in bad)
        )
        log.warning(message)
        send_alert(
            ALERT_POLICY_STANDARD,
            AlertEvent.REJECTED_INPUT,
            subject=f"satellite {ds}: {len(missing)} missing slot(s), {len(bad)} bad file(s)",
            message=message,
            details={"day": ds, "missing_slots": missing, "bad_files": bad},
            context=context,
        )
    return {
        "source_uris": result["outputs"],
        "rows": result["rows"],
        "files_read": result["files_read"],
        "missing_slots": missing,
        "bad_files": bad,
        "layout_changes": result["layout_changes"],
    }
