"""Airflow 3 manual runs may have no logical date (issue 11, item 7): every DAG of the project runs
through such a run, using the run's ``run_after`` (data_platform.macros)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from data_platform.macros import PLATFORM_MACROS, run_day, run_interval_end
from data_platform.paths import REPO_ROOT

RUN_AFTER = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
MANUAL = {"dag_run": SimpleNamespace(run_after=RUN_AFTER, logical_date=None), "run_id": "manual__x"}
SCHEDULED = {
    **MANUAL,
    "ds": "2026-03-03",
    "data_interval_end": datetime(2026, 3, 4, tzinfo=UTC),
}


def test_the_run_day_and_interval_end_fall_back_to_run_after():
    assert run_day(MANUAL) == "2026-03-04"
    assert run_interval_end(MANUAL) == RUN_AFTER
    assert run_day(SCHEDULED) == "2026-03-03"
    assert run_interval_end(SCHEDULED) == datetime(2026, 3, 4, tzinfo=UTC)


def test_run_ds_renders_in_templates_of_both_kinds_of_run():
    from jinja2 import Environment, StrictUndefined

    template = Environment(undefined=StrictUndefined).from_string("event_day = '{{ run_ds() }}'")
    assert template.render(**MANUAL, **PLATFORM_MACROS) == "event_day = '2026-03-04'"
    assert template.render(**SCHEDULED, **PLATFORM_MACROS) == "event_day = '2026-03-03'"


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
