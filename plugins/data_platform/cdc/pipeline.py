"""What the CDC DAGs need from the table configs and from the merge job's results.

Parse time: :func:`tables_by_cadence` (one cached YAML read, validated by
``spark_jobs.cdc.table_config``). Run time: :func:`merge_arguments` turns the plan into one
argument list per Spark job, and :func:`warehouse_load_for` turns one table's merge result into
the arguments of its warehouse load, or fails that table alone.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from data_platform.paths import include_dir

if TYPE_CHECKING:
    from spark_jobs.cdc.table_config import TableConfig

CONFIG_SUBDIR = "cdc/tables"
# Everything templated resolves on the worker: the same DAG renders local paths or S3 URIs.
JOB_CONFIG_DIR = "{{ platform.job_include_dir }}/" + CONFIG_SUBDIR


@cache
def tables_by_cadence() -> dict[str, tuple[TableConfig, ...]]:
    """Validated table configs of include/cdc/tables, grouped by refresh cadence (one DAG each)."""
    from spark_jobs.cdc.table_config import cadences, load_table_configs

    configs = load_table_configs(include_dir() / CONFIG_SUBDIR)
    return {cadence: tuple(c for c in configs if c.cadence == cadence) for cadence in cadences(configs)}


def schedule_for(cadence: str) -> str:
    from spark_jobs.cdc.table_config import cadence_to_cron

    return cadence_to_cron(cadence)


def plan_arguments(cadence: str) -> list[str]:
    return [
        "--cadence",
        cadence,
        "--config-dir",
        JOB_CONFIG_DIR,
        "--landing-root",
        "{{ platform.landing_root }}",
        "--lake-root",
        "{{ platform.lake_root }}",
    ]


def _require_run_id(run_id: str | None) -> str:
    if not run_id:
        raise ValueError("The CDC tasks need the run_id of their DAG run (the task context's run_id).")
    return run_id


def merge_arguments(plan: dict[str, Any], run_id: str | None) -> list[list[str]]:
    """One ``merge_job`` argument list per planned batch (empty when no table has new files)."""
    run_id = _require_run_id(run_id)
    import json

    from data_platform.settings import get_settings

    settings = get_settings()
    common = [
        "--config-dir",
        f"{settings.job_include_dir}/{CONFIG_SUBDIR}",
        "--landing-root",
        settings.landing_root,
        "--lake-root",
        settings.lake_root,
        "--run-id",
        run_id,
    ]
    if not settings.is_local:
        common.append("--hive-sync")  # register the Hudi tables in the Glue Data Catalog
    return [["--batch-json", json.dumps({"tables": batch["tables"]}), *common] for batch in plan["batches"]]


def planned_tables(plan: dict[str, Any]) -> list[str]:
    return [table for batch in plan["batches"] for table in batch["tables"]]


def warehouse_load_for(table_id: str, run_id: str | None) -> dict[str, Any]:
    """Arguments of ``table_id``'s warehouse load and checks, from its merge result of ``run_id``.

    A table whose merge failed (or has no result because its Spark job broke) raises here, so
    only that table's load and checks fail; tables without a warehouse target are skipped.
    """
    from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

    from data_platform.settings import get_settings
    from spark_jobs.cdc.outputs import changes_files, read_result
    from spark_jobs.cdc.table_config import OP_COLUMN, SEQ_COLUMN, select_tables

    run_id = _require_run_id(run_id)
    settings = get_settings()
    (config,) = select_tables([c for configs in tables_by_cadence().values() for c in configs], [table_id])
    if not config.warehouse_table:
        raise AirflowSkipException(f"{table_id} has no warehouse_table; the lake table is the output.")
    result = read_result(settings.lake_root, config.database, config.table, run_id)
    if result is None:
        raise AirflowException(
            f"{table_id}: no merge result for run {run_id}; its Spark job did not finish "
            "(see the merge_batch task log). The table's files stay pending for the next run."
        )
    if result["status"] == "locked":
        raise AirflowException(f"{table_id}: another run holds the table lock; retrying later.")
    if result["status"] == "failed":
        error = result.get("error") or {}
        raise AirflowFailException(
            f"{table_id}: merge failed ({error.get('kind')}): {error.get('message')} "
            f"Quarantined at {result.get('quarantine_uri')}; the lake table and its pending "
            f"files are unchanged: {error.get('files') or result.get('files')}"
        )
    historical = config.storage_mode == "historical"
    if result.get("full_load"):
        mode = "snapshot"  # the run rebuilt the table: its change set is the whole table
    else:
        mode = "append" if historical else "merge"
    return {
        "warehouse_table": config.warehouse_table,
        "dq_rule": config.dq_rule or config.warehouse_table,
        "mode": mode,
        "source_uris": changes_files(settings.lake_root, config.database, config.table, run_id),
        "primary_key": list(config.primary_key) if mode == "merge" else [],
        "delete_column": OP_COLUMN if mode == "merge" else None,
        "order_by": [SEQ_COLUMN] if mode == "merge" else [],
        "lake_rows": result["rows_after"],
        "changes_read": sum((result.get("changes_read") or {}).values()),
        "changes": {k: result[k] for k in ("inserted", "updated", "deleted")},
    }
