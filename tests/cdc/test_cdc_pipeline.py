"""The CDC DAGs' glue: configs by cadence, merge arguments, and the per-table hand-over from a
merge result to the warehouse load (a failed table fails alone, with a clear message)."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from data_platform.cdc import pipeline as cdc
from data_platform.settings import get_settings
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.table_config import load_table_configs
from spark_jobs.common.lake import write_atomic, write_json_atomic

REPO = Path(__file__).resolve().parents[2]
RUN_ID = "scheduled__2026-01-15T01:00:00+00:00"


def _result(table: str, **fields) -> None:
    settings = get_settings()
    layout = TableLayout(settings.lake_root, "erp", table)
    result = {
        "table_id": f"erp.{table}",
        "run_id": RUN_ID,
        "status": "ok",
        "full_load": False,
        "rows_after": 40,
        "inserted": 2,
        "updated": 3,
        "deleted": 1,
        "changes_read": {"I": 3, "U": 4, "D": 1},
        "error": None,
        "files": [],
        "quarantine_uri": None,
    }
    result.update(fields)
    write_json_atomic(layout.result_uri(RUN_ID), result)
    write_atomic(layout.changes_uri(RUN_ID) + "/part-0.parquet", b"PAR1")


def test_the_dag_reads_cadences_and_schedules_from_the_compiled_index():
    assert cdc.cadences() == {"daily": "0 0 * * *", "hourly": "0 * * * *"}
    assert cdc.table_index()["cadences"]["hourly"]["tables"] == [
        "erp.accounts",
        "erp.invoice_lines",
        "erp.invoices",
    ]


def test_the_dag_parse_reads_the_cadences_file_only(tmp_path, monkeypatch):
    """Parse time reads ``cdc/cadences.json`` (derived from the index when it is compiled), never
    the table configs: with the cadences file alone in the include path the schedules are there."""
    (tmp_path / "cdc").mkdir()
    (tmp_path / cdc.CADENCES_FILE).write_bytes(cdc.cadence_file(cdc.table_index()))
    monkeypatch.setenv("PLATFORM_INCLUDE_PATH", str(tmp_path))

    assert cdc.cadences() == {"daily": "0 0 * * *", "hourly": "0 * * * *"}
    assert not (tmp_path / cdc.INDEX_FILE).exists()


def test_plan_arguments_ship_the_cadence_configs_with_the_run(local_dir):
    arguments = cdc.plan_arguments("hourly", RUN_ID)
    settings = get_settings()
    configs = arguments[arguments.index("--config-dir") + 1]
    assert configs == cdc.run_configs_uri(settings.lake_root, "hourly", RUN_ID)
    assert arguments[arguments.index("--lake-root") + 1] == settings.lake_root
    planned = load_table_configs(configs)
    assert [c.table_id for c in planned] == ["erp.accounts", "erp.invoice_lines", "erp.invoices"]
    assert planned[1].primary_key == ["invoice_id", "line_no"]
    assert cdc.plan_arguments("hourly", RUN_ID) == arguments  # a rerun rewrites the same file


def test_merge_arguments_one_list_per_batch_with_the_run_configs(local_dir):
    plan = {
        "cadence": "hourly",
        "batches": [{"tables": ["erp.accounts", "erp.invoices"]}, {"tables": ["erp.invoice_lines"]}],
    }
    arguments = cdc.merge_arguments(plan, RUN_ID)
    assert len(arguments) == 2
    first = arguments[0]
    assert first[:2] == ["--batch-json", '{"tables": ["erp.accounts", "erp.invoices"]}']
    assert first[first.index("--run-id") + 1] == RUN_ID
    settings = get_settings()
    assert first[first.index("--config-dir") + 1] == cdc.run_configs_uri(settings.lake_root, "hourly", RUN_ID)
    assert first[first.index("--landing-root") + 1] == settings.landing_root
    assert "--hive-sync" not in first
    assert cdc.planned_tables(plan) == ["erp.accounts", "erp.invoices", "erp.invoice_lines"]
    empty = {"cadence": "hourly", "batches": [], "tables": {"erp.accounts": {"pending_files": 0}}}
    with pytest.raises(AirflowSkipException, match="No table of cadence 'hourly' has new DMS files"):
        cdc.merge_arguments(empty, RUN_ID)


def test_merge_arguments_on_aws_use_s3_and_sync_glue(monkeypatch):
    monkeypatch.setenv("PIPELINE_TARGET", "aws")
    (arguments,) = cdc.merge_arguments(
        {"cadence": "hourly", "batches": [{"tables": ["erp.invoices"]}]}, RUN_ID
    )
    assert arguments[arguments.index("--config-dir") + 1].startswith("s3://")
    assert arguments[arguments.index("--lake-root") + 1].startswith("s3://")
    assert arguments[-1] == "--hive-sync"


def test_result_and_change_set_paths_follow_the_job_layout():
    for run_id in (RUN_ID, "manual__2026-01-15T01:00:00.123+00:00", "backfill/odd id"):
        layout = TableLayout("s3://lake/root", "erp", "invoices")
        assert cdc.result_uri("s3://lake/root", "erp", "invoices", run_id) == layout.result_uri(run_id)
        assert cdc.changes_uri("s3://lake/root", "erp", "invoices", run_id) == layout.changes_uri(run_id)


def test_a_merged_current_table_is_merged_by_key_into_the_warehouse(local_dir):
    _result("invoices")
    load = cdc.warehouse_load_for("erp.invoices", RUN_ID)
    assert load["warehouse_table"] == "erp.invoices" and load["dq_rule"] == "erp.invoice_rules"
    assert (load["mode"], load["primary_key"], load["delete_column"], load["order_by"]) == (
        "merge",
        ["invoice_id"],
        "_cdc_op",
        ["_cdc_seq"],
    )
    assert load["source_uris"][0].endswith(
        "/cdc/erp/invoices/changes/run=scheduled__2026-01-15T01_00_00_00_00/part-0.parquet"
    )
    assert (load["lake_rows"], load["changes_read"]) == (40, 8)


def test_the_load_gets_the_tables_new_columns_policy(local_dir):
    _result("invoices")
    _result("ledger")
    assert cdc.warehouse_load_for("erp.invoices", RUN_ID)["new_columns"] == "fail"
    assert cdc.warehouse_load_for("erp.ledger", RUN_ID)["new_columns"] == "add"


def test_the_dags_load_task_takes_the_policy_from_the_merge_result():
    from airflow.dag_processing.dagbag import DagBag

    from data_platform.warehouse.operators import LoadToWarehouseOperator

    bag = DagBag(dag_folder=str(REPO / "dags" / "cdc_pipelines.py"))
    load = bag.dags["cdc_hourly"].get_task("load_table.load")
    assert (load.new_columns.operator.task_id, load.new_columns.key) == ("load_table.merge_result", "new_columns")
    assert "new_columns" in LoadToWarehouseOperator.template_fields  # rendered from that XCom


def test_a_full_load_replaces_the_warehouse_table(local_dir):
    _result("accounts", full_load=True)
    load = cdc.warehouse_load_for("erp.accounts", RUN_ID)
    assert (load["mode"], load["primary_key"], load["delete_column"]) == ("snapshot", [], None)


def test_a_historical_table_appends_every_change(local_dir):
    _result("ledger")
    load = cdc.warehouse_load_for("erp.ledger", RUN_ID)
    assert (load["warehouse_table"], load["mode"]) == ("erp.ledger_history", "append")


def test_a_failed_table_fails_its_own_load_naming_the_error_and_the_quarantine(local_dir):
    _result(
        "invoice_lines",
        status="failed",
        quarantine_uri="file:///lake/_quarantine/cdc/erp/invoice_lines/r1",
        error={
            "kind": "unknown_op",
            "message": "Op 'X' in 2 rows.",
            "files": ["erp/dbo/invoice_lines/b.csv"],
        },
    )
    with pytest.raises(AirflowFailException) as failure:
        cdc.warehouse_load_for("erp.invoice_lines", RUN_ID)
    message = str(failure.value)
    assert "erp.invoice_lines: merge failed (unknown_op): Op 'X' in 2 rows." in message
    assert "_quarantine/cdc/erp/invoice_lines/r1" in message and "b.csv" in message


def test_a_table_without_a_result_fails_and_points_at_the_spark_job(local_dir):
    with pytest.raises(AirflowException, match="no merge result.*merge_batch task log"):
        cdc.warehouse_load_for("erp.accounts", RUN_ID)


def test_a_locked_table_is_retried(local_dir):
    holder = {"run_id": "manual__killed", "owner": "vm:2424", "expires_at_iso": "2026-11-30T21:55:05+00:00"}
    _result("invoices", status="locked", error={"kind": "locked", "details": {"holder": holder}})
    with pytest.raises(AirflowException, match="held the table lock") as error:
        cdc.warehouse_load_for("erp.invoices", RUN_ID)
    assert not isinstance(error.value, AirflowFailException)
    # who holds it and until when, and what happens to the files (a killed demo left such a lock)
    message = str(error.value)
    assert "'manual__killed'" in message and "'vm:2424'" in message and "2026-11-30T21:55:05" in message
    assert "next run merges them" in message


def test_a_table_without_warehouse_target_is_skipped(local_dir, monkeypatch):
    index = cdc.table_index()
    lake_only = {**index["tables"]["erp.ledger"], "warehouse_table": None}
    monkeypatch.setattr(cdc, "table_index", lambda: {**index, "tables": {"erp.ledger": lake_only}})
    with pytest.raises(AirflowSkipException, match="no warehouse_table"):
        cdc.warehouse_load_for("erp.ledger", RUN_ID)
