"""The CDC DAGs' glue: configs by cadence, merge arguments, and the per-table hand-over from a
merge result to the warehouse load (a failed table fails alone, with a clear message)."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from data_platform.cdc import pipeline as cdc
from data_platform.settings import get_settings
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.common.lake import write_atomic, write_json_atomic

RUN_ID = "scheduled__2026-01-15T01:00:00+00:00"


def _result(table: str, **fields) -> None:
    settings = get_settings()
    layout = TableLayout(settings.lake_root, "shop", table)
    result = {
        "table_id": f"shop.{table}",
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


def test_tables_are_grouped_by_cadence():
    by_cadence = cdc.tables_by_cadence()
    assert {c.table_id for c in by_cadence["hourly"]} == {"shop.customers", "shop.orders", "shop.order_items"}
    assert [c.table_id for c in by_cadence["daily"]] == ["shop.payments"]
    assert cdc.schedule_for("hourly") == "0 * * * *"


def test_merge_arguments_one_list_per_batch_with_local_paths(local_dir):
    plan = {"batches": [{"tables": ["shop.customers", "shop.orders"]}, {"tables": ["shop.order_items"]}]}
    arguments = cdc.merge_arguments(plan, RUN_ID)
    assert len(arguments) == 2
    first = arguments[0]
    assert first[:2] == ["--batch-json", '{"tables": ["shop.customers", "shop.orders"]}']
    assert first[first.index("--run-id") + 1] == RUN_ID
    assert first[first.index("--config-dir") + 1].endswith("include/cdc/tables")
    assert first[first.index("--landing-root") + 1] == get_settings().landing_root
    assert "--hive-sync" not in first
    assert cdc.planned_tables(plan) == ["shop.customers", "shop.orders", "shop.order_items"]
    assert cdc.merge_arguments({"batches": []}, RUN_ID) == []


def test_merge_arguments_on_aws_use_the_image_configs_and_sync_glue(monkeypatch):
    monkeypatch.setenv("PIPELINE_TARGET", "aws")
    (arguments,) = cdc.merge_arguments({"batches": [{"tables": ["shop.orders"]}]}, RUN_ID)
    assert arguments[arguments.index("--config-dir") + 1] == "/opt/project/include/cdc/tables"
    assert arguments[arguments.index("--lake-root") + 1].startswith("s3://")
    assert arguments[-1] == "--hive-sync"


def test_a_merged_current_table_is_merged_by_key_into_the_warehouse(local_dir):
    _result("orders")
    load = cdc.warehouse_load_for("shop.orders", RUN_ID)
    assert load["warehouse_table"] == "shop.orders" and load["dq_rule"] == "shop.orders"
    assert (load["mode"], load["primary_key"], load["delete_column"], load["order_by"]) == (
        "merge",
        ["order_id"],
        "_cdc_op",
        ["_cdc_seq"],
    )
    assert load["source_uris"][0].endswith(
        "/cdc/shop/orders/changes/run=scheduled__2026-01-15T01_00_00_00_00/part-0.parquet"
    )
    assert (load["lake_rows"], load["changes_read"]) == (40, 8)


def test_a_full_load_replaces_the_warehouse_table(local_dir):
    _result("customers", full_load=True)
    load = cdc.warehouse_load_for("shop.customers", RUN_ID)
    assert (load["mode"], load["primary_key"], load["delete_column"]) == ("snapshot", [], None)


def test_a_historical_table_appends_every_change(local_dir):
    _result("payments")
    load = cdc.warehouse_load_for("shop.payments", RUN_ID)
    assert (load["warehouse_table"], load["mode"]) == ("shop.payments_history", "append")


def test_a_failed_table_fails_its_own_load_naming_the_error_and_the_quarantine(local_dir):
    _result(
        "order_items",
        status="failed",
        quarantine_uri="file:///lake/_quarantine/cdc/shop/order_items/r1",
        error={
            "kind": "unknown_op",
            "message": "Op 'X' in 2 rows.",
            "files": ["shop/public/order_items/b.csv"],
        },
    )
    with pytest.raises(AirflowFailException) as failure:
        cdc.warehouse_load_for("shop.order_items", RUN_ID)
    message = str(failure.value)
    assert "shop.order_items: merge failed (unknown_op): Op 'X' in 2 rows." in message
    assert "_quarantine/cdc/shop/order_items/r1" in message and "b.csv" in message


def test_a_table_without_a_result_fails_and_points_at_the_spark_job(local_dir):
    with pytest.raises(AirflowException, match="no merge result.*merge_batch task log"):
        cdc.warehouse_load_for("shop.customers", RUN_ID)


def test_a_locked_table_is_retried(local_dir):
    _result("orders", status="locked")
    with pytest.raises(AirflowException, match="holds the table lock") as error:
        cdc.warehouse_load_for("shop.orders", RUN_ID)
    assert not isinstance(error.value, AirflowFailException)


def test_a_table_without_warehouse_target_is_skipped(local_dir, monkeypatch):
    configs = cdc.tables_by_cadence()
    lake_only = configs["daily"][0].model_copy(update={"warehouse_table": None})
    monkeypatch.setattr(cdc, "tables_by_cadence", lambda: {"daily": (lake_only,)})
    with pytest.raises(AirflowSkipException, match="no warehouse_table"):
        cdc.warehouse_load_for("shop.payments", RUN_ID)
