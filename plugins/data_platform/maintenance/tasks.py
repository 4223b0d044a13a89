"""The maintenance DAGs' task bodies (``dags/airflow_maintenance.py``), on the run-time target."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from data_platform.lake.storage import join
from data_platform.maintenance.cleanup import clean_before, cleanup_commands
from data_platform.maintenance.config import load_maintenance_config
from data_platform.maintenance.metadata_export import (
    export_metadata,
    import_metadata,
    latest_export,
    read_export,
)
from data_platform.maintenance.targets import MWAA_ENV_NAME_VAR, airflow_api, airflow_cli
from data_platform.settings import get_settings

log = logging.getLogger(__name__)


def cleanup_step(step: str, interval_end: datetime) -> dict[str, Any]:
    """Run one step (``dry_run``, ``clean``, ``drop_archived``) of the metadata cleanup for rows
    older than the retention before ``interval_end``; the command's output goes to the task log."""
    config = load_maintenance_config().cleanup
    before = clean_before(interval_end, config.retention_days)
    commands = cleanup_commands(config, before)
    if step not in commands:
        return {"step": step, "skipped": "not configured"}
    output = airflow_cli().run(commands[step])
    log.info("airflow %s:\n%s", " ".join(commands[step]), output)
    return {"step": step, "clean_before": before.isoformat(), "output_lines": len(output.splitlines())}


def export_root(environment: str | None = None) -> str:
    """``<lake>/<export prefix>/<environment>``: the MWAA environment's name on aws, else the
    platform environment (``local``)."""
    settings = get_settings()
    name = environment or os.environ.get(MWAA_ENV_NAME_VAR) or settings.environment
    return settings.lake_uri(load_maintenance_config().export.prefix, name)


def export_step(run_after: datetime) -> dict[str, Any]:
    """Export the environment's metadata as export ``<run_after, UTC, YYYYmmddTHHMMSSZ>``
    (a rerun of the run rewrites the same export); returns the manifest."""
    export_id = run_after.strftime("%Y%m%dT%H%M%SZ")
    manifest = export_metadata(airflow_api(), export_root(), export_id)
    log.info("exported to %s: %s", join(export_root(), export_id),
             {name: f["count"] for name, f in manifest["files"].items()})
    return {"export_uri": join(export_root(), export_id), **manifest}


def import_step(importing_dag_id: str, export_id: str | None = None,
                from_environment: str | None = None) -> dict[str, Any]:
    """Import export ``export_id`` (default: the latest complete one) of ``from_environment``
    (default: this environment) from the DAG ``importing_dag_id`` (whose paused flag and runs the
    import leaves alone: it is running); what could not be restored is logged and returned."""
    root = export_root(from_environment)
    chosen = export_id or latest_export(root)
    result = import_metadata(airflow_api(), read_export(join(root, chosen)),
                             keep_paused_flag=frozenset({importing_dag_id})).as_dict()
    for item in result["not_restored"]:
        log.warning("not restored: %s", item)
    return {"export_uri": join(root, chosen), **result}
