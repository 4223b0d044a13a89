"""What the satellite_timeseries DAG needs: its config (include/satellite/pipeline.yaml, read once
per process at parse time) and, at run time, the day's extraction result turned into the
warehouse load's inputs, with missing slots and bad files reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from data_platform.config import ConfigError, load_yaml

CONFIG_FILE = "satellite/pipeline.yaml"
_FIELDS = {
    "input_prefix": str,
    "points": str,
    "table": str,
    "warehouse_table": str,
    "slots_per_day": int,
    "wait_timeout_minutes": (int, float),
    "poke_interval_minutes": (int, float),
    "on_bad_file": str,
    "on_layout_change": str,
    "max_active_runs": int,
}


@dataclass(frozen=True)
class SatelliteConfig:
    """include/satellite/pipeline.yaml; every field is required (see the file's comments)."""

    input_prefix: str
    points: str
    table: str
    warehouse_table: str
    slots_per_day: int
    wait_timeout_minutes: float
    poke_interval_minutes: float
    on_bad_file: str
    on_layout_change: str
    max_active_runs: int

    @property
    def input_root_template(self) -> str:
        """The product root, resolved on the worker (a URI stays as it is)."""
        if "://" in self.input_prefix:
            return self.input_prefix.rstrip("/")
        return "{{ platform.landing_root }}/" + self.input_prefix.strip("/")

    def extract_arguments(self) -> list[str]:
        """Templated arguments of the extraction job for the run's logical day."""
        return [
            "--lake-root", "{{ platform.lake_root }}",
            "--input-root", self.input_root_template,
            "--points", "{{ platform.job_include_dir }}/" + self.points,
            "--days", "{{ ds }}",
            "--table", self.table,
            "--on-bad-file", self.on_bad_file,
            "--on-layout-change", self.on_layout_change,
            "--slots-per-day", str(self.slots_per_day),
            "--run-id", "{{ run_id }}",
        ]  # fmt: skip


@cache
def pipeline_config() -> SatelliteConfig:
    """The validated config; errors name the file and the field."""
    document = load_yaml(CONFIG_FILE)
    if not isinstance(document, dict):
        raise ConfigError(f"include/{CONFIG_FILE}: expected a mapping of {sorted(_FIELDS)}.")
    unknown, missing = set(document) - set(_FIELDS), set(_FIELDS) - set(document)
    if unknown or missing:
        raise ConfigError(
            f"include/{CONFIG_FILE}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}."
        )
    for key, kind in _FIELDS.items():
        if not isinstance(document[key], kind) or isinstance(document[key], bool):
            raise ConfigError(f"include/{CONFIG_FILE}: {key}={document[key]!r} has the wrong type.")
    for key, allowed in (("on_bad_file", ("skip", "fail")), ("on_layout_change", ("read", "skip", "fail"))):
        if document[key] not in allowed:
            raise ConfigError(
                f"include/{CONFIG_FILE}: {key} must be one of {allowed}, got {document[key]!r}."
            )
    return SatelliteConfig(**document)


def day_load(ds: str, run_id: str, context: Any | None = None) -> dict[str, Any]:
    """The warehouse load's inputs from the extraction result of day ``ds`` written by ``run_id``.

    Missing slots and bad files are logged and sent through the standard alert policy (event
    ``rejected_input``); the load goes on with the slots present. Raises when the day has no
    result of this run (the extraction did not finish).
    """
    import logging
    from datetime import date

    from airflow.sdk.exceptions import AirflowException

    from data_platform.alerting import ALERT_POLICY_STANDARD, AlertEvent, send_alert
    from data_platform.settings import get_settings
    from spark_jobs.satellite.series_table import read_day_result

    config = pipeline_config()
    result = read_day_result(get_settings().lake_root, config.table, date.fromisoformat(ds))
    if result is None or result.get("run_id") != run_id:
        raise AirflowException(
            f"No extraction result of run {run_id} for {ds} (found: {result and result.get('run_id')}); "
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
