"""cdc_hourly end to end through Airflow on the local target: one table's unreadable DMS file
fails that table alone (quarantined, lake table and pending files unchanged, its warehouse load
not run); once the file is replaced, the next run catches up and lake = warehouse."""

from __future__ import annotations

import pytest

from data_platform.lineage.tasks import process_events
from data_platform.local.cdc_demo import land_batches
from data_platform.local.demo import last_run, run_dag
from data_platform.local.lineage_demo import lineage_graph, walk_to_origin
from data_platform.settings import get_settings
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.outputs import read_current
from spark_jobs.common.lake import delete, exists, list_files, read_json, write_atomic

pytestmark = [pytest.mark.e2e, pytest.mark.spark]
BROKEN = "shop/public/orders/2024/05/01/20240501-000000001.parquet"


def _warehouse_count(table: str) -> int:
    from airflow.sdk import BaseHook

    hook = BaseHook.get_connection(get_settings().warehouse_conn_id).get_hook()
    return hook.get_first(f"SELECT COUNT(*) FROM {table}")[0]


def _failed(run: dict) -> list[str]:
    return sorted(task for task, state in run["tasks"].items() if state == "failed")


@pytest.mark.timeout(1800)  # two DAG runs, each a spark-submit writing three Hudi tables
def test_a_broken_table_fails_alone_and_catches_up_after_the_fix(demo_include, airflow_runtime, tmp_path):
    settings = get_settings()
    land_batches(settings, 0)
    broken = f"{settings.landing_root}/{BROKEN}"
    write_atomic(broken, b"not a parquet file")

    run_dag("cdc_hourly", "2026-01-15T01:00:00", airflow_runtime, tmp_path / "run1.log")
    first = last_run("cdc_hourly", airflow_runtime)

    assert first["state"] == "failed"
    (failed,) = _failed(first)  # only the orders table's merge result, nothing else
    assert failed.startswith("load_table.merge_result[")
    index = failed[failed.index("[") :]
    assert first["tasks"][f"load_table.load{index}"] == "upstream_failed"
    assert (
        sum(state == "success" for task, state in first["tasks"].items() if "load_table.check" in task) == 2
    )
    orders = TableLayout(settings.lake_root, "shop", "orders")
    result = read_json(orders.result_uri(first["run_id"]))
    assert result["status"] == "failed" and result["error"]["kind"] == "unreadable_file"
    assert not exists(orders.pointer_uri) and not exists(orders.hudi_uri), (
        "the orders lake table must not be written"
    )
    quarantined = [f.uri for f in list_files(orders.quarantine_uri(first["run_id"]))]
    assert any(uri.endswith("20240501-000000001.parquet") for uri in quarantined)
    assert (
        _warehouse_count("shop.customers") == read_current(settings.lake_root, "shop", "customers").num_rows
    )

    # the source team replaces the file (here: removes it); the next run picks the table up
    delete(broken)
    run_dag("cdc_hourly", "2026-01-15T02:00:00", airflow_runtime, tmp_path / "run2.log")
    second = last_run("cdc_hourly", airflow_runtime)

    assert second["state"] == "success", _failed(second)
    lake_orders = read_current(settings.lake_root, "shop", "orders").num_rows
    assert lake_orders > 0 and _warehouse_count("shop.orders") == lake_orders
    # the runs' OpenLineage events, processed as the lineage DAG does: the warehouse column walks
    # back through the lake table to the DMS files' column
    assert process_events()["events_rejected"] == 0
    walk_to_origin(lineage_graph(settings), "shop.orders", "amount")
