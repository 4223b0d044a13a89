"""Airflow metadata maintenance, as MWAA runs it on Airflow 3.

- ``airflow_db_cleanup`` (weekly): ``airflow db clean`` of the metadata older than the retention
  in include/maintenance/metadata.yaml: a dry run first (what each table would lose, in the task
  log), then the cleanup without archive tables, then the archive tables earlier runs left are
  dropped. On MWAA through the environment's CLI endpoint (Airflow 3 tasks may not open the
  metadata DB), locally through the local Airflow CLI.
- ``airflow_metadata_export`` (triggered, e.g. before a non-production environment is deleted
  for the night): variables, pools, connections without secrets, DAG runs and task instances
  through the REST API to ``<lake>/_airflow_metadata/<environment>/<export id>/``.
- ``airflow_metadata_import`` (triggered on the recreated environment): the latest export back in
  (conf ``{"export_id": "...", "from_environment": "..."}`` to choose another one).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, task
from airflow.timetables.interval import CronDataIntervalTimetable

from data_platform.alerting import ALERT_POLICY_STANDARD

DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
    **ALERT_POLICY_STANDARD.task_callbacks(),
}
# the export and import DAGs run when triggered (nightly stop/start), never on a schedule
TRIGGERED_ONLY = {
    "schedule": None,
    "start_date": datetime(2026, 1, 1),
    "tags": ["platform", "maintenance"],
    "default_args": DEFAULT_ARGS,
}

with DAG(
    dag_id="airflow_db_cleanup",
    description="airflow db clean of old metadata: dry run, cleanup, drop archive tables",
    schedule=CronDataIntervalTimetable("0 3 * * 0", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    # the cleanup is relative to the run's interval end: the latest run does what missed ones would
    catchup=False,
    max_active_runs=1,
    tags=["platform", "maintenance"],
    default_args=DEFAULT_ARGS,
):

    @task
    def cleanup(step: str, **context) -> dict:
        """One step of the cleanup for rows older than the retention before the interval end."""
        from data_platform.intervals import run_data_interval
        from data_platform.maintenance.tasks import cleanup_step

        return cleanup_step(step, run_data_interval(context)[1])

    dry_run = cleanup.override(task_id="dry_run")("dry_run")
    clean = cleanup.override(task_id="clean")("clean")
    drop_archived = cleanup.override(task_id="drop_archived")("drop_archived")
    dry_run >> clean >> drop_archived

with DAG(
    dag_id="airflow_metadata_export",
    description="Variables, pools, connections (no secrets), DAG runs and task instances to the lake",
    catchup=False,
    max_active_runs=1,
    **TRIGGERED_ONLY,
):

    @task
    def export_metadata(**context) -> dict:
        """The environment's metadata through the REST API to the lake; returns the manifest."""
        from data_platform.maintenance.tasks import export_step

        return export_step(context["dag_run"].run_after)

    export_metadata()

with DAG(
    dag_id="airflow_metadata_import",
    description="The latest metadata export back into this (recreated) environment",
    catchup=False,
    max_active_runs=1,
    **TRIGGERED_ONLY,
    params={
        "export_id": Param(None, type=["null", "string"], description="default: the latest export"),
        "from_environment": Param(None, type=["null", "string"], description="default: this environment"),
    },
):

    @task
    def import_metadata(**context) -> dict:
        """Pools, variables, new connections, finished runs and their task instance states."""
        from data_platform.maintenance.tasks import import_step

        params = context["params"]
        return import_step(context["dag"].dag_id, params.get("export_id"), params.get("from_environment"))

    import_metadata()
