"""What the CDC DAGs need from the compiled table index and from the merge job's results.

Parse time: :func:`cadences` reads ``cdc/cadences.json`` (:func:`cadence_file`, written beside
the index ``cdc/tables.json`` that ``spark_jobs.cdc.table_index`` compiles and validates when the
bundle is built or the local runtime starts) with ``json`` only: no ``spark_jobs``, YAML or
pydantic on the Airflow side, and no table configs, so the cost does not grow with the number of
tables (benchmarks/dag_parse.py).

Run time, with the target's settings (the only way target-dependent values reach the CDC
tasks): :func:`plan_arguments` copies the cadence's tables from that same index into the run's
folder in the lake, so the planner pod and every merge job read exactly the configuration the
DAG was built from; :func:`merge_arguments` turns the plan into one argument list per Spark
job, or skips the rest of the run when no table has new files; :func:`warehouse_load_for` turns one table's merge result into the arguments of its
warehouse load, or fails that table alone.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from data_platform.paths import include_file

INDEX_FILE = "cdc/tables.json"
INDEX_FORMAT = "cdc-table-index/1"
CADENCES_FILE = "cdc/cadences.json"
CADENCES_FORMAT = "cdc-cadences/1"


def _compiled(name: str, document_format: str) -> dict[str, Any]:
    path = include_file(name)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} does not exist: the CDC table index and its cadences are compiled from "
            "cdc/tables/*.yaml by `python -m data_platform.deploy.bundle build` (MWAA) or the local "
            "runtime (`python -m data_platform.local.runtime ...`); run one of them."
        ) from None
    if document.get("format") != document_format:
        raise ValueError(f"{path} is not a {document_format} file; rebuild it (see the CDC README section).")
    return document


@cache
def table_index() -> dict[str, Any]:
    """The compiled index (see ``spark_jobs.cdc.table_index`` for its format); run time only."""
    return _compiled(INDEX_FILE, INDEX_FORMAT)


def cadence_file(index: dict[str, Any]) -> bytes:
    """What the DAG file reads at parse time, derived from the compiled ``index``:
    ``{"format": "cdc-cadences/1", "cadences": {"hourly": "0 * * * *", ...}}`` (deterministic
    bytes; every writer of the index writes this file beside it)."""
    schedules = {name: entry["schedule"] for name, entry in index["cadences"].items()}
    document = {"format": CADENCES_FORMAT, "cadences": schedules}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def cadences() -> dict[str, str]:
    """Cadence (one DAG each) -> its cron schedule, e.g. ``{"hourly": "0 * * * *"}``, from
    ``cdc/cadences.json`` (no table configs read)."""
    return dict(sorted(_compiled(CADENCES_FILE, CADENCES_FORMAT)["cadences"].items()))


def table_config(table_id: str) -> dict[str, Any]:
    """One table's validated config (defaults merged) from the index."""
    try:
        return table_index()["tables"][table_id]
    except KeyError:
        raise KeyError(f"CDC table {table_id!r} is not in {INDEX_FILE}") from None


def _safe_run_id(run_id: str) -> str:
    # the folder-name rule of spark_jobs.cdc.layout (tests/cdc check both give the same paths)
    return "".join(ch if ch.isalnum() or ch in "-_.=" else "_" for ch in run_id)


def _join(*parts: str) -> str:
    return "/".join([parts[0].rstrip("/"), *(p.strip("/") for p in parts[1:] if p)])


def run_configs_uri(lake_root: str, cadence: str, run_id: str) -> str:
    """Where a run's table configs live: ``<lake>/_state/cdc/_runs/<cadence>/<run_id>/tables.json``."""
    return _join(lake_root, "_state", "cdc", "_runs", cadence, _safe_run_id(run_id), "tables.json")


def result_uri(lake_root: str, database: str, table: str, run_id: str) -> str:
    """``spark_jobs.cdc.layout.TableLayout.result_uri``: the table's result of ``run_id``."""
    return _join(lake_root, "_state", "cdc", database, table, "history", f"{_safe_run_id(run_id)}.json")


def changes_uri(lake_root: str, database: str, table: str, run_id: str) -> str:
    """``spark_jobs.cdc.layout.TableLayout.changes_uri``: the net change ``run_id`` wrote."""
    return _join(lake_root, "cdc", database, table, "changes", f"run={_safe_run_id(run_id)}")


def plan_arguments(cadence: str, run_id: str) -> list[str]:
    """Write the cadence's table configs for this run (rerunning rewrites the same bytes) and
    return the planner's arguments (``python3.11 -m spark_jobs.cdc.plan ...``)."""
    from data_platform.lake.storage import write_bytes
    from data_platform.settings import get_settings

    settings = get_settings()
    index = table_index()
    members = index["cadences"][cadence]["tables"]
    subset = {
        **index,
        "cadences": {cadence: index["cadences"][cadence]},
        "tables": {table_id: index["tables"][table_id] for table_id in members},
    }
    configs = run_configs_uri(settings.lake_root, cadence, run_id)
    write_bytes(configs, json.dumps(subset, sort_keys=True, separators=(",", ":")).encode())
    return [
        "--cadence",
        cadence,
        "--config-dir",
        configs,
        "--landing-root",
        settings.landing_root,
        "--lake-root",
        settings.lake_root,
    ]


def _require_run_id(run_id: str | None) -> str:
    if not run_id:
        raise ValueError("The CDC tasks need the run_id of their DAG run (the task context's run_id).")
    return run_id


def merge_arguments(plan: dict[str, Any], run_id: str | None) -> list[list[str]]:
    """One ``merge_job`` argument list per planned batch. A plan without batches (no table of
    the cadence has new DMS files) raises AirflowSkipException: the merges and loads after it are
    skipped and the run succeeds at once."""
    from airflow.sdk.exceptions import AirflowSkipException

    run_id = _require_run_id(run_id)
    if not plan["batches"]:
        raise AirflowSkipException(
            f"No table of cadence {plan['cadence']!r} has new DMS files "
            f"({len(plan.get('tables') or {})} tables looked at): nothing to merge or load."
        )
    from data_platform.settings import get_settings

    settings = get_settings()
    common = [
        "--config-dir",
        run_configs_uri(settings.lake_root, plan["cadence"], run_id),
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

    from data_platform.lake.storage import exists, list_files, read_bytes
    from data_platform.settings import get_settings

    run_id = _require_run_id(run_id)
    settings = get_settings()
    config = table_config(table_id)
    columns = table_index()["system_columns"]
    if not config["warehouse_table"]:
        raise AirflowSkipException(f"{table_id} has no warehouse_table; the lake table is the output.")
    location = result_uri(settings.lake_root, config["database"], config["table"], run_id)
    if not exists(location):
        raise AirflowException(
            f"{table_id}: no merge result for run {run_id}; its Spark job did not finish "
            "(see the merge_batch task log). The table's files stay pending for the next run."
        )
    result = json.loads(read_bytes(location))
    if result["status"] == "locked":
        holder = ((result.get("error") or {}).get("details") or {}).get("holder") or {}
        raise AirflowException(
            f"{table_id}: another run held the table lock during this run's merge (run "
            f"{holder.get('run_id')!r}, owner {holder.get('owner')!r}, lease until "
            f"{holder.get('expires_at_iso')}); the table's files stay pending and the next run "
            "merges them. A killed holder's lease frees itself at that time."
        )
    if result["status"] == "failed":
        error = result.get("error") or {}
        raise AirflowFailException(
            f"{table_id}: merge failed ({error.get('kind')}): {error.get('message')} "
            f"Quarantined at {result.get('quarantine_uri')}; the lake table and its pending "
            f"files are unchanged: {error.get('files') or result.get('files')}"
        )
    historical = config["storage_mode"] == "historical"
    if result.get("full_load"):
        mode = "snapshot"  # the run rebuilt the table: its change set is the whole table
    else:
        mode = "append" if historical else "merge"
    # the run's change set, or (a rerun of a run later runs superseded) the current rows of its keys
    changes = result.get("changes_uri") or changes_uri(
        settings.lake_root, config["database"], config["table"], run_id
    )
    return {
        "warehouse_table": config["warehouse_table"],
        "dq_rule": config["dq_rule"] or config["warehouse_table"],
        "mode": mode,
        "source_uris": [f.uri for f in list_files(changes, "*.parquet")],
        "primary_key": list(config["primary_key"]) if mode == "merge" else [],
        "delete_column": columns["op"] if mode == "merge" else None,
        "order_by": [columns["seq"]] if mode == "merge" else [],
        "new_columns": config["new_columns"],
        "lake_rows": result["rows_after"],
        "changes_read": sum((result.get("changes_read") or {}).values()),
        "changes": {k: result[k] for k in ("inserted", "updated", "deleted")},
    }
