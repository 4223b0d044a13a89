"""The Airflow side of the Jira pipeline (data_platform.jira.pipeline, no spark_jobs on MWAA)
agrees with the sync job: the same config view and defaults, the same lake paths, and the
config a run's sync reads is the one the DAG was built from."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from data_platform.jira import pipeline
from spark_jobs.jira.config import JiraConfig, load_config, parse_config
from spark_jobs.jira.layout import SiteLayout

FIXTURE_INCLUDE = Path(__file__).parent / "fixtures" / "include"
REPO_INCLUDE = Path(__file__).resolve().parents[2] / "include"


@pytest.fixture
def include(monkeypatch) -> Path:
    monkeypatch.setenv("PLATFORM_INCLUDE_PATH", str(FIXTURE_INCLUDE))
    pipeline.ingestion_config.cache_clear()
    yield FIXTURE_INCLUDE
    pipeline.ingestion_config.cache_clear()


@pytest.fixture
def lake(tmp_path, monkeypatch) -> str:
    root = f"file://{tmp_path / 'lake'}"
    monkeypatch.setattr("data_platform.settings.get_settings", lambda: SimpleNamespace(lake_root=root))
    return root


def _dag_view(config) -> dict:
    return {"site": config.site, "schedule": config.schedule, "warehouse": config.warehouse.model_dump()}


@pytest.mark.parametrize(
    "document",
    [
        yaml.safe_load((FIXTURE_INCLUDE / "jira" / "jira.yaml").read_text()),
        yaml.safe_load((REPO_INCLUDE / "jira" / "jira.yaml").read_text()),
        {"site": "minimal"},  # the defaults of both sides
    ],
)
def test_the_dag_reads_the_config_as_the_sync_job_does(document):
    dag_side = pipeline.DagConfig.model_validate(document)
    job_side = parse_config(document, "test")
    assert _dag_view(dag_side) == _dag_view(job_side)


def test_a_bad_site_name_fails_the_parse_naming_file_and_key(tmp_path, monkeypatch):
    (tmp_path / "jira").mkdir()
    (tmp_path / "jira" / "jira.yaml").write_text("site: Not A Site\n")
    monkeypatch.setenv("PLATFORM_INCLUDE_PATH", str(tmp_path))
    pipeline.ingestion_config.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"jira\.yaml: site: String should match pattern"):
            pipeline.ingestion_config()
    finally:
        pipeline.ingestion_config.cache_clear()


def test_the_dag_knows_every_key_the_sync_job_reads():
    dag_keys = {name for name in pipeline.DagConfig.model_fields if name != "document"}
    assert dag_keys | pipeline.SYNC_KEYS == set(JiraConfig.model_fields)


def test_a_credential_in_the_config_fails_the_parse_before_anything_is_written(tmp_path, monkeypatch, lake):
    (tmp_path / "jira").mkdir()
    (tmp_path / "jira" / "jira.yaml").write_text("site: acme\napi_token: ATATT3xSECRET\n")
    monkeypatch.setenv("PLATFORM_INCLUDE_PATH", str(tmp_path))
    pipeline.ingestion_config.cache_clear()
    try:
        with pytest.raises(
            ValueError, match=r"jira\.yaml: .*unknown key\(s\) \['api_token'\].*connection"
        ) as err:
            pipeline.ingestion_config()
        assert "ATATT3xSECRET" not in str(err.value)
        with pytest.raises(ValueError, match="api_token"):
            pipeline.sync_arguments({}, "manual__1")
    finally:
        pipeline.ingestion_config.cache_clear()
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize("run_id", ["scheduled__2026-01-15T00:00:00+00:00", "manual__x/y z"])
def test_lake_paths_equal_the_jobs_layout(run_id):
    lake_root, site = "s3://lake/prefix/", "acme"
    layout = SiteLayout(lake_root, site)
    assert pipeline.site_root(lake_root, site) == layout.root
    assert pipeline.result_uri(lake_root, site, run_id) == layout.result_uri(run_id)
    assert pipeline.run_config_uri(lake_root, site, run_id).startswith(layout.root + "/_state/")


def test_the_sync_reads_the_config_the_dag_was_built_from(include, lake):
    run_id = "manual__2026-01-15T00:00:00+00:00"
    args = pipeline.sync_arguments({"full_sync": True, "since": None}, run_id)
    options = dict(zip(args[::2], args[1::2], strict=True))
    assert options == {
        "--config": pipeline.run_config_uri(lake, "test-site", run_id),
        "--lake-root": lake,
        "--connection-env": pipeline.CONNECTION_ENV,
        "--full": "true",
        "--since": "",
    }
    shipped = load_config(options["--config"])
    assert shipped == load_config(str(include / "jira" / "jira.yaml"))
    # a rerun writes the same bytes
    before = Path(options["--config"].removeprefix("file://")).read_bytes()
    pipeline.sync_arguments({"full_sync": True}, run_id)
    assert Path(options["--config"].removeprefix("file://")).read_bytes() == before
    assert json.loads(before)["site"] == "test-site"


def test_full_sync_and_since_together_fail_without_retries(include, lake):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="full_sync or since"):
        pipeline.sync_arguments({"full_sync": True, "since": "2026-01-01"}, "manual__1")


def test_transform_arguments_and_a_missing_result(include, lake):
    from airflow.sdk.exceptions import AirflowException

    assert pipeline.transform_arguments("manual__1") == [
        "--site", "test-site", "--lake-root", lake, "--run-id", "manual__1",
    ]  # fmt: skip
    with pytest.raises(AirflowException, match="No Jira transform result for run manual__1"):
        pipeline.table_outputs("manual__1")
