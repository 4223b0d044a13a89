"""The deployed layout is the tested layout: the MWAA bundle (the bytes deploy uploads), laid out
as MWAA does, parses with no import error and no checkout on sys.path, its tasks' run-time
imports and include/ files resolve there, and the DAGs carry the metadata operators need."""

from __future__ import annotations

from pathlib import Path

from mwaa_layout import parse_bundle

from data_platform.deploy.bundle import build_bundle


def test_the_bundle_is_parsed_without_the_checkout(parsed):
    assert parsed["checkout_on_sys_path"] == []
    assert parsed["spark_jobs_importable"] is False, "job code must not reach the MWAA workers"


def test_no_import_errors(parsed):
    assert parsed["import_errors"] == {}


def test_every_dag_file_defines_a_dag(parsed, mwaa_home):
    files_with_dags = {Path(d["fileloc"]).name for d in parsed["dags"].values()}
    dag_files = {p.name for p in (mwaa_home / "dags").glob("*.py") if not p.name.startswith("_")}
    assert dag_files <= files_with_dags, f"files without a DAG: {dag_files - files_with_dags}"
    assert {"cdc_hourly", "cdc_daily", "platform_smoke"} <= set(parsed["dags"])


def test_every_shipped_module_imports_on_a_worker(parsed):
    assert parsed["run_time_import_errors"] == {}


def test_every_task_finds_its_configuration_in_the_deployed_include(parsed):
    assert parsed["task_config_errors"] == {}


def test_dag_files_import_no_heavy_modules(parsed):
    assert parsed["heavy_modules"] == [], (
        "DAG parsing imported heavy modules; import them inside task code or operator methods"
    )


def test_every_dag_has_description_and_tags(parsed):
    for dag_id, dag in parsed["dags"].items():
        assert dag["description"], f"{dag_id}: set description="
        assert dag["tags"], f"{dag_id}: set tags="


def test_every_task_has_an_owner_and_retries(parsed):
    for dag_id, dag in parsed["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["owner"] not in (None, "", "airflow"), f"{dag_id}.{task_id}: set an owner"
            assert task["retries"] >= 1, f"{dag_id}.{task_id}: set retries >= 1"


def test_the_product_bundle_has_no_cdc_dags_for_the_demo_database(tmp_path):
    home = tmp_path / "airflow"
    build_bundle().write(home)
    parsed = parse_bundle(home)
    assert parsed["import_errors"] == {}
    assert not any(dag_id.startswith("cdc_") for dag_id in parsed["dags"]), "no CDC table is configured"


BROKEN_DAG = """
from datetime import datetime
from airflow.sdk import DAG
from data_platform.pod import PlatformPodOperator
from data_platform.warehouse.operators import LoadToWarehouseOperator
with DAG(dag_id="broken", schedule=None, start_date=datetime(2026, 1, 1), tags=["t"],
         default_args={"owner": "data-platform", "team": "data-eng", "pipeline": "cdc", "retries": 1}):
    PlatformPodOperator(task_id="pod", profile="no-such-profile", image="cdc-jobs", cmds=["python3.11"])
    LoadToWarehouseOperator(task_id="load", table="nowhere.table", source_uris=[], mode="append")
"""


def test_a_task_naming_configuration_that_is_not_deployed_is_reported(tmp_path):
    home = tmp_path / "airflow"
    build_bundle().write(home)
    (home / "dags" / "broken.py").write_text(BROKEN_DAG)
    parsed = parse_bundle(home)
    assert parsed["import_errors"] == {}
    errors = parsed["task_config_errors"]
    assert set(errors) == {"broken.pod", "broken.load"}, errors
    assert "no-such-profile" in errors["broken.pod"]
    assert "nowhere.table.sql" in errors["broken.load"]
