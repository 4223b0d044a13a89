"""The example DAG tests/system/example_lake_to_warehouse.py (quoted by the README) run by Airflow
itself (``dag.test()``: real task runner, templating, XComArgs, sensor XCom) on the local target:
wait -> admit -> load -> check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dag_file_runner import run_dag_file
from tests.warehouse.conftest import event

EXAMPLE = Path(__file__).parents[1] / "system" / "example_lake_to_warehouse.py"


@pytest.mark.e2e
def test_wait_admit_load_check_run_through_airflow(warehouse, tmp_path):
    received = "landing/demo/events/received"
    good = warehouse.parquet(
        f"{received}/events_1.parquet", [event(1), event(2), event(3, event_type="purchase")]
    )
    warehouse.parquet(f"{received}/misnamed.parquet", [event(4)])
    output = run_dag_file(EXAMPLE.read_text(), EXAMPLE.stem, tmp_path)
    assert "RUN_STATE success" in output, output[-6000:]
    assert "'rows_in': 3, 'rows_out': 3" in output and "'files_loaded': 1" in output
    assert "All 10 data-quality checks passed on demo.events" in output
    assert warehouse.query("SELECT COUNT(*) FROM demo.events") == [(3,)]
    accepted = good.replace("/received/", "/accepted/")
    assert warehouse.query("SELECT source_uri FROM dp_audit.load_log") == [(accepted,)]
