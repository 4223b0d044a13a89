"""What ``dags/jira_ingestion.py`` needs from the ingestion config and the transform's result.

Parse time: :func:`ingestion_config` (one cached YAML read, validated by
``spark_jobs.jira.config``). Run time: :func:`table_outputs` reads the transform's result and
gives the load and check tasks their files and row counts.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from data_platform.paths import include_dir

if TYPE_CHECKING:
    from spark_jobs.jira.config import JiraConfig

CONFIG_FILE = "jira/jira.yaml"
SECRET = "jira_cloud"  # logical secret -> connection id in include/platform/environments.yaml
CONNECTION_ENV = "JIRA_CLOUD_CONN"  # what PodTask(secrets=[SECRET]) sets in the pod


@cache
def ingestion_config() -> JiraConfig:
    from spark_jobs.jira.config import load_config

    return load_config(str(include_dir() / CONFIG_FILE))


def sync_arguments() -> list[str]:
    """Arguments of ``python -m spark_jobs.jira.extract``; templated, resolved on the worker."""
    return [
        "--config",
        "{{ platform.job_include_dir }}/" + CONFIG_FILE,
        "--lake-root",
        "{{ platform.lake_root }}",
        "--connection-env",
        CONNECTION_ENV,
        "--full",
        "{{ params.full_sync | string | lower }}",
        "--since",
        "{{ params.since or '' }}",
    ]


def transform_arguments(site: str) -> list[str]:
    return ["--site", site, "--lake-root", "{{ platform.lake_root }}", "--run-id", "{{ run_id }}"]


def table_outputs(run_id: str) -> dict[str, Any]:
    """Files and row counts of the transform of ``run_id`` (fails if it left no result)."""
    from airflow.sdk.exceptions import AirflowException

    from data_platform.settings import get_settings
    from spark_jobs.common.lake import read_json
    from spark_jobs.jira.layout import SiteLayout

    layout = SiteLayout(get_settings().lake_root, ingestion_config().site)
    result = read_json(layout.result_uri(run_id))
    if result is None:
        raise AirflowException(
            f"No Jira transform result for run {run_id} at {layout.result_uri(run_id)}; see the "
            "build_tables task log. Nothing was loaded; the next run rebuilds from the landed syncs."
        )
    return {
        "issues_changes": result["files"]["issues_changes"],
        "status_history": result["files"]["status_history"],
        "issues": result["issues"],
        "deleted": result["deleted"],
        "status_changes": result["status_changes"],
        "versions": result["versions"],
    }
