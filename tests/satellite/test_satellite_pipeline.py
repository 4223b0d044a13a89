"""The DAG's glue: the shipped config is valid; a run ships its points catalogue to the lake and
gets the job's arguments on the target's roots; the Airflow side's lake paths are the job's; the
day's extraction result becomes the load's inputs, its missing slots and bad files are alerted,
and a result of another run is refused."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from data_platform.config import ConfigError
from data_platform.satellite import pipeline
from data_platform.settings import get_settings
from spark_jobs.common.lake import read_bytes
from spark_jobs.satellite.points import load_points
from spark_jobs.satellite.series_table import day_result_uri, state_uri, write_day_result

DAY = date(2018, 3, 20)
REPO_ROOT = Path(__file__).resolve().parents[2]


def _result(run_id: str, missing: list[str], bad: list[dict]) -> dict:
    return {
        "day": DAY.isoformat(),
        "run_id": run_id,
        "status": "success",
        "expected_slots": 96,
        "files_read": 96 - len(missing),
        "rows": (96 - len(missing)) * 2,
        "missing_slots": missing,
        "bad_files": bad,
        "layout_changes": [],
        "ignored_files": [],
        "outputs": ["file:///lake/a.parquet", "file:///lake/b.parquet"],
    }


def test_a_run_ships_the_points_catalogue_and_gets_the_job_arguments(local_dir):
    settings = get_settings()
    config = pipeline.pipeline_config()
    assert config.slots_per_day == 96

    inputs = pipeline.run_inputs(DAY.isoformat(), "scheduled__2018-03-20T00:00:00+00:00")

    arguments = inputs["extract_arguments"]
    value = {arguments[i]: arguments[i + 1] for i in range(0, len(arguments), 2)}
    assert value["--days"] == DAY.isoformat() and value["--lake-root"] == settings.lake_root
    assert value["--input-root"] == f"{settings.landing_root}/satellite/mdssftd"
    assert inputs["day_folder"] == f"{settings.landing_root}/satellite/mdssftd/2018/03/20"
    assert value["--points"].startswith(f"{state_uri(settings.lake_root, config.table)}/runs/")
    shipped = read_bytes(value["--points"])
    assert shipped == (REPO_ROOT / "include" / "satellite" / "points.yaml").read_bytes()
    assert len(load_points(value["--points"])) == 6  # what the job reads


def test_the_airflow_side_paths_are_the_jobs():
    lake = "s3://bucket/lake"
    assert pipeline.state_uri(lake, "t") == state_uri(lake, "t")
    assert pipeline.day_result_uri(lake, "t", DAY.isoformat()) == day_result_uri(lake, "t", DAY)


def test_a_bad_config_names_the_file_and_key(monkeypatch, tmp_path):
    (tmp_path / "satellite").mkdir()
    (tmp_path / "satellite" / "pipeline.yaml").write_text("input_prefix: x\nunknown: 1\n")
    monkeypatch.setenv("PLATFORM_INCLUDE_PATH", str(tmp_path))
    pipeline.pipeline_config.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"satellite/pipeline.yaml is invalid: .*unknown: Extra inputs"):
            pipeline.pipeline_config()
    finally:
        pipeline.pipeline_config.cache_clear()


def test_missing_slots_and_bad_files_are_alerted_and_returned(local_dir):
    lake = get_settings().lake_root
    bad = [{"file": "f.nc", "kind": "unreadable", "action": "skip", "message": "truncated"}]
    write_day_result(day_result_uri(lake, "dssf_timeseries", DAY), _result("run-1", ["00:15", "12:30"], bad))

    load = pipeline.day_load(DAY.isoformat(), "run-1")

    assert load["missing_slots"] == ["00:15", "12:30"] and load["bad_files"] == bad
    assert load["rows"] == 188 and len(load["source_uris"]) == 2
    alerts = [json.loads(line) for line in (local_dir / "alerts" / "alerts.jsonl").read_text().splitlines()]
    assert alerts and "2 missing slot(s), 1 bad file(s)" in alerts[0]["subject"]
    assert "f.nc: unreadable (skip): truncated" in alerts[0]["message"]


def test_a_result_of_another_run_is_refused(local_dir):
    from airflow.sdk.exceptions import AirflowException

    lake = get_settings().lake_root
    write_day_result(day_result_uri(lake, "dssf_timeseries", DAY), _result("run-old", [], []))
    with pytest.raises(AirflowException, match="No extraction result of run run-new"):
        pipeline.day_load(DAY.isoformat(), "run-new")
