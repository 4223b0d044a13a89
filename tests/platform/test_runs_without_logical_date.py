"""Airflow 3 manual runs may have no logical date (issue 11, item 7): every DAG of the project runs
through such a run, covering the interval its timetable infers (data_platform.intervals)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from data_platform.paths import REPO_ROOT


def run_without_logical_date(dag_id: str, env: dict[str, str]) -> str:
    """``dag.test(logical_date=None)``: what the UI's trigger and ``mwaa trigger`` without a date make."""
    code = (
        "from airflow.utils.cli import get_bagged_dag; "
        f"run = get_bagged_dag(bundle_names=None, dag_id={dag_id!r}).test(logical_date=None); "
        "print('RUN', run.logical_date, run.state)"
    )
    env = {**env, "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600"}  # parse time is not under test
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200
    )
    return done.stdout + done.stderr


@pytest.mark.e2e
def test_platform_smoke_runs_without_a_logical_date(airflow_runtime):
    out = run_without_logical_date("platform_smoke", airflow_runtime)
    assert "RUN None success" in out, out[-3000:]


@pytest.mark.e2e
@pytest.mark.spark
def test_the_cdc_dag_runs_without_a_logical_date(airflow_runtime):
    from data_platform.local.cdc_demo import land_batches
    from data_platform.settings import get_settings

    land_batches(get_settings(), 0)
    out = run_without_logical_date("cdc_hourly", airflow_runtime)
    assert "RUN None success" in out, out[-3000:]
