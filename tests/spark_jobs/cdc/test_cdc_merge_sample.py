"""End to end on the sample `shop` DB: full load + CDC batches landed one at a time, merged
with the shipped table configs, compared with the generator's expected source state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from data_platform.local.dms_simulator import write_sample_data
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.merge import MergeSettings, merge_tables
from spark_jobs.cdc.outputs import changes_files, current_files, read_changes, read_current, read_result
from spark_jobs.cdc.plan import plan_cadence
from spark_jobs.cdc.sinks.snapshot import existing_versions
from spark_jobs.cdc.table_config import load_table_configs

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[3]
BATCHES = 3
TABLES = ["shop.customers", "shop.order_items", "shop.orders", "shop.payments"]


def _rows(table: Any, columns: list[str]) -> list[tuple]:
    return sorted(tuple(r[c] for c in columns) for r in table.to_pylist())


def _expected(expected_root: Path, config, batch: int) -> tuple[list[str], list[tuple]]:
    if config.storage_mode == "historical":
        data = pq.read_table(expected_root / config.source_table / f"changes_batch={batch}.parquet")
        data = data.rename_columns([("_cdc_op" if n == "op" else n) for n in data.column_names])
    else:
        data = pq.read_table(expected_root / config.source_table / f"state_batch={batch}.parquet")
    return data.column_names, _rows(data, data.column_names)


@pytest.fixture(scope="module")
def shop(spark, tmp_path_factory):
    """Land and merge batch by batch; keep results and lake/expected comparisons per batch."""
    root = tmp_path_factory.mktemp("shop")
    landing, lake = f"file://{root}/landing", f"file://{root}/lake"
    # the demo generator and the demo configs describe the same simulated database
    configs = load_table_configs(REPO / "include" / "demo" / "cdc" / "tables")
    runs: list[dict[str, Any]] = []
    for batch in range(BATCHES):
        write_sample_data(landing, seed=11, batches=BATCHES, only_batch=batch)
        plan = plan_cadence(configs, "hourly", landing, lake)
        results = merge_tables(
            spark,
            configs,
            MergeSettings(landing, lake, run_id=f"run-{batch}", rows_per_file=50, sink="snapshot"),
        )
        compared = {}
        for config in configs:
            columns, want = _expected(root / "landing" / "_expected", config, batch)
            compared[config.table_id] = (
                _rows(read_current(lake, config.database, config.table), columns),
                want,
            )
        runs.append({"plan": plan, "results": {r.table_id: r for r in results}, "compared": compared})
    return {"landing": landing, "lake": lake, "configs": configs, "runs": runs}


@pytest.mark.parametrize("table_id", TABLES)
@pytest.mark.parametrize("batch", range(BATCHES))
def test_lake_table_equals_source_after_each_batch(shop, batch, table_id):
    got, want = shop["runs"][batch]["compared"][table_id]
    assert shop["runs"][batch]["results"][table_id].status == "ok"
    assert got == want


def test_counts_and_full_load_flag(shop):
    first, second = shop["runs"][0]["results"], shop["runs"][1]["results"]
    customers = first["shop.customers"]
    assert customers.full_load and customers.rows_before == 0
    assert customers.inserted == customers.rows_after == len(shop["runs"][0]["compared"]["shop.customers"][1])
    assert customers.files[:2] == ["LOAD00000001.csv", "LOAD00000002.csv"]
    orders = second["shop.orders"]
    assert not orders.full_load and orders.updated >= 1
    assert orders.changes_read["D"] >= 1  # deleted and re-inserted keys count as updates
    assert orders.rows_after == orders.rows_before + orders.inserted - orders.deleted
    assert orders.changes_read["U"] > orders.updated  # several changes to one key reduce to one
    payments = second["shop.payments"]  # historical: every change is a row
    assert payments.rows_after == payments.rows_before + sum(payments.changes_read.values())


def test_change_sets_replayed_in_order_rebuild_the_current_table(shop):
    """The warehouse contract: apply each run's change set by key (I/U upsert, D delete)."""
    lake = shop["lake"]
    for config in shop["configs"]:
        if config.storage_mode != "current":
            continue
        keys, mirror = config.primary_key, {}
        for batch in range(BATCHES):
            result = read_result(lake, config.database, config.table, f"run-{batch}")
            if result["full_load"]:
                mirror = {}
            for row in read_changes(lake, config.database, config.table, f"run-{batch}").to_pylist():
                key = tuple(row[k] for k in keys)
                if row["_cdc_op"] == "D":
                    mirror.pop(key, None)  # a key never loaded: the delete is only its tombstone
                else:
                    assert (key in mirror) == (row["_cdc_op"] == "U")
                    mirror[key] = row
        current = read_current(lake, config.database, config.table).to_pylist()
        assert sorted(mirror.values(), key=lambda r: tuple(r[k] for k in keys)) == sorted(
            current, key=lambda r: tuple(r[k] for k in keys)
        )


def test_rerun_without_new_files_changes_nothing(spark, shop):
    lake, landing = shop["lake"], shop["landing"]
    layout = TableLayout(lake, "shop", "orders")
    versions = existing_versions(layout)
    before = read_current(lake, "shop", "orders")
    results = merge_tables(
        spark, shop["configs"], MergeSettings(landing, lake, run_id="rerun", sink="snapshot")
    )
    assert {r.status for r in results} == {"noop"}
    assert existing_versions(layout) == versions
    assert read_current(lake, "shop", "orders").equals(before)
    assert plan_cadence(shop["configs"], "hourly", landing, lake)["batches"] == []


def test_retry_with_a_committed_run_id_reuses_its_result(spark, shop):
    last = f"run-{BATCHES - 1}"
    results = merge_tables(
        spark, shop["configs"], MergeSettings(shop["landing"], shop["lake"], run_id=last, sink="snapshot")
    )
    assert all(r.reused and r.status == "ok" for r in results)
    assert (
        results[0].to_dict() | {"reused": False} == shop["runs"][-1]["results"][results[0].table_id].to_dict()
    )


def test_plan_lists_tables_with_new_files_in_batches(shop):
    plan = shop["runs"][1]["plan"]
    assert plan["batches"] == [  # include/demo/cdc/tables/shop.yaml: batch_size 3
        {"batch_id": "hourly-000", "tables": ["shop.customers", "shop.order_items", "shop.orders"]},
    ]
    assert plan["tables"]["shop.orders"]["pending_files"] == 3


def test_versions_retention_and_partitioned_layout(shop):
    lake = shop["lake"]
    assert existing_versions(TableLayout(lake, "shop", "orders")) == [1, 2, 3]
    files = current_files(lake, "shop", "orders")
    assert files and all("/versions/v=3/order_date=" in f for f in files)
    orders = read_current(lake, "shop", "orders")
    assert str(orders.schema.field("order_date").type) == "date32[day]"
    assert str(orders.schema.field("amount").type) == "decimal128(12, 2)"
    assert orders.column_names[-2:] == ["_cdc_op", "_cdc_seq"]
    assert changes_files(lake, "shop", "orders", "run-1")


def test_state_and_history_live_in_the_lake(shop):
    from spark_jobs.cdc.tracker import FileTracker

    tracker = FileTracker(TableLayout(shop["lake"], "shop", "customers"))
    state = tracker.load_state()
    assert state.loads == BATCHES and state.last_run_id == f"run-{BATCHES - 1}"
    assert {c["name"]: c["type"] for c in state.schema}["credit_limit"] == "decimal(12,2)"
    assert all(v["run_id"].startswith("run-") for v in state.processed.values())
    assert [h["run_id"] for h in tracker.history()][:BATCHES] == [f"run-{b}" for b in range(BATCHES)]
