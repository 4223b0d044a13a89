"""The warehouse steps as a DAG run by Airflow itself (``dag.test()``: real task runner,
templating, XComArgs, sensor XCom) on the local target: wait -> admit -> load -> check."""

from __future__ import annotations

import textwrap

import pytest

from tests.dag_file_runner import run_dag_file
from tests.warehouse.conftest import event

DAG_FILE = textwrap.dedent(
    """
    import json
    from datetime import datetime, timezone

    from airflow.sdk import DAG, task

    from data_platform.lake.operators import AdmitLakeFilesOperator
    from data_platform.lake.sensors import NewLakeFilesSensor
    from data_platform.warehouse.operators import CheckWarehouseTableOperator, LoadToWarehouseOperator

    with DAG("warehouse_e2e", schedule=None) as dag:
        wait = NewLakeFilesSensor(task_id="wait", prefix="landing/demo/events/received", pattern="*.parquet",
                                  poke_interval=1, timeout=60)
        admit = AdmitLakeFilesOperator(task_id="admit", source_uris=wait.output, name_pattern=r"events_\\d+\\.parquet",
                               required_columns=["event_id", "op"])
        load = LoadToWarehouseOperator(task_id="load", table="demo.events", source_uris=admit.output["accepted"],
                               mode="merge", primary_key=["event_id"], delete_column="op", order_by=["seq"])
        check = CheckWarehouseTableOperator(task_id="check", table="demo.events", rules="demo.events",
                                    source_row_count="{{ ti.xcom_pull(task_ids='load')['rows_out'] }}")

        @task
        def report(load_metrics, check_summary):
            print("LOAD " + json.dumps(load_metrics, sort_keys=True))
            print("CHECK " + json.dumps(check_summary, sort_keys=True))

        load >> check  # the template below does not make a dependency by itself
        report(load.output, check.output)

    if __name__ == "__main__":
        run = dag.test(logical_date=datetime(2024, 1, 2, tzinfo=timezone.utc))
        print("RUN_STATE " + str(run.state))
    """
)


@pytest.mark.e2e
def test_wait_admit_load_check_run_through_airflow(warehouse, tmp_path):
    received = "landing/demo/events/received"
    good = warehouse.parquet(
        f"{received}/events_1.parquet", [event(1), event(2), event(3, event_type="purchase")]
    )
    warehouse.parquet(f"{received}/misnamed.parquet", [event(4)])
    output = run_dag_file(DAG_FILE, "warehouse_e2e", tmp_path)
    assert "RUN_STATE success" in output, output[-6000:]
    assert '"rows_in": 3' in output and '"rows_out": 3' in output and '"files_loaded": 1' in output
    assert '"checks_passed": 10' in output and '"checks_total": 10' in output
    assert warehouse.query("SELECT COUNT(*) FROM demo.events") == [(3,)]
    accepted = good.replace("/received/", "/accepted/")
    assert warehouse.query("SELECT source_uri FROM dp_audit.load_log") == [(accepted,)]
