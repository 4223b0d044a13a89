"""A cdc_hourly run with no new DMS file, through Airflow on the local target: the plan has no
batch, merge_arguments is skipped and the rest of the run with it (no Spark job, no load, no
check); the run succeeds."""

from __future__ import annotations

import pytest

from data_platform.local.demo import last_run, run_dag

pytestmark = [pytest.mark.e2e]


def test_an_interval_without_new_dms_files_skips_the_merge_and_the_loads(
    demo_include, airflow_runtime, tmp_path
):
    run_dag("cdc_hourly", "2026-01-15T01:00:00", airflow_runtime, tmp_path / "run.log")
    run = last_run("cdc_hourly", airflow_runtime)

    assert run["state"] == "success", run["tasks"]
    assert run["tasks"] == {
        "table_configs": "success",
        "plan_batches": "success",
        "merge_arguments": "skipped",
        "planned_tables": "skipped",
        "merge_batch": "skipped",
        "load_table.merge_result": "skipped",
        "load_table.load": "skipped",
        "load_table.check": "skipped",
    }
