"""The local runtime end to end: embedded PostgreSQL, migrated metadata DB, real Airflow CLI."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from data_platform.local import demo
from data_platform.local.lineage_endpoint import CATALOG_URL_ENV, default_events_file
from data_platform.local.runtime import default_include_path, lineage_transport, run_airflow

pytestmark = pytest.mark.e2e
DAG_FILES = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def runtime_env(airflow_runtime) -> dict[str, str]:
    return airflow_runtime


def test_environment_uses_local_executor_and_embedded_postgres(runtime_env):
    assert runtime_env["AIRFLOW__CORE__EXECUTOR"] == "data_platform.local.executor.PreImportingLocalExecutor"
    assert runtime_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert json.loads(runtime_env["AIRFLOW_CONN_WAREHOUSE"])["schema"] == "warehouse"
    assert runtime_env["PIPELINE_TARGET"] == "local"


def test_lineage_goes_to_the_lake_and_the_local_catalog_when_it_runs(runtime_env):
    # no catalog stand-in runs here (make demo starts one): the lake alone
    lake = json.loads(runtime_env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert lake["type"] == "file" and lake["log_file_path"].endswith("/lake/_lineage/raw/event")
    assert Path(lake["log_file_path"]).parent.is_dir()  # the file transport does not create it
    assert Path(runtime_env["OPENLINEAGE_CONFIG"]).is_file()  # the Spark jobs' own events
    url = "http://127.0.0.1:40123"  # the stand-in's free port, as make demo passes it
    transport = lineage_transport(default_include_path(), "file:///tmp/lake", {CATALOG_URL_ENV: url})
    _, catalog = transport["transports"]
    assert (catalog["type"], catalog["url"], catalog["endpoint"]) == ("http", url, "api/v1/lineage")


def test_airflow_lists_every_dag_without_import_errors(runtime_env):
    listed = run_airflow(["dags", "list", "-o", "json"], env=runtime_env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr[-2000:]
    files = {Path(d["fileloc"]).stem for d in json.loads(listed.stdout.strip().splitlines()[-1])}
    assert set(DAG_FILES) <= files
    errors = run_airflow(
        ["dags", "list-import-errors", "-o", "json"], env=runtime_env, capture_output=True, text=True
    )
    assert json.loads(errors.stdout.strip().splitlines()[-1] or "[]") == []


def test_demo_runs_the_smoke_dag_and_reports_its_metrics(runtime_env, capsys):
    catalog_events = default_events_file()
    before = len(catalog_events.read_text().splitlines()) if catalog_events.is_file() else 0
    assert demo.main(["platform_smoke"]) == 0
    out = capsys.readouterr().out
    # the demo's catalog stand-in (a free port) received the run's events
    assert len(catalog_events.read_text().splitlines()) > before
    assert CATALOG_URL_ENV not in os.environ
    line = next(x for x in out.splitlines() if x.startswith("platform_smoke "))
    assert "success" in line
    assert " 1000 " in line and "8/8" in line
    # every day in the warehouse is verified: the session's runtime also holds the backfill
    # check's days when tests/local/test_backfill_check.py ran before
    assert re.search(r"verified: [1-9]\d* day\(s\) of canary\.events equal the generated events", out)


def test_backfill_create_prints_the_runs_it_made(runtime_env, capsys):
    from data_platform.local.runtime import main

    args = [
        "backfill",
        "create",
        "--dag-id",
        "platform_smoke",
        "--from-date",
        "2026-01-01",
        "--to-date",
        "2026-01-03",
    ]
    assert main(["airflow", *args]) == 0
    out = capsys.readouterr().out
    made = re.search(r"backfill of platform_smoke from 2026-01-01 to 2026-01-03: (\d+) run\(s\)", out)
    assert made and int(made.group(1)) >= 2, out
    assert out.count("backfill__2026-01-0") == int(made.group(1))
