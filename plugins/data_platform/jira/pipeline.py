"""What ``dags/jira_ingestion.py`` needs from the ingestion config and the transform's result.

Parse time: :func:`ingestion_config` reads ``jira/jira.yaml`` (found on the include search
path) once, with YAML and pydantic only: no ``spark_jobs`` on the Airflow side. It checks the
keys the DAG is built from (``site``, ``schedule``, ``warehouse``) and refuses keys neither
side reads (a token put in the file would be copied to the lake); the sync job validates the
whole document (``spark_jobs.jira.config``, which gives the same defaults: tests/jira checks).

Run time, with the target's settings (the only way target-dependent values reach the tasks):
:func:`sync_arguments` writes the config the DAG was built from into the run's folder in the
lake and returns the sync pod's arguments; :func:`transform_arguments` those of the Spark job;
:func:`table_outputs` reads the transform's result and gives the load and check tasks their
files and row counts. The lake paths follow ``spark_jobs.jira.layout.SiteLayout`` (tests/jira
checks both give the same URIs).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from data_platform.paths import include_file

CONFIG_FILE = "jira/jira.yaml"
SECRET = "jira_cloud"  # logical secret -> connection id in include/platform/environments.yaml
CONNECTION_ENV = "JIRA_CLOUD_CONN"  # what PlatformPodOperator(secrets=[SECRET]) sets in the pod
BAD_CONFIG_EXIT_CODE = 2  # spark_jobs.jira.extract: bad arguments, config or connection
# The keys only the sync job reads (spark_jobs.jira.config.JiraConfig; tests/jira keeps both equal).
SYNC_KEYS = frozenset(
    {"projects", "fields", "page_size", "lookback_minutes", "changelog", "max_paging_attempts"}
)


class WarehouseTables(BaseModel):
    """``warehouse:`` of the config: the reporting tables (``schema.table``)."""

    model_config = ConfigDict(extra="forbid")
    issues: str = "jira.issues"
    status_history: str = "jira.status_history"


class DagConfig(BaseModel):
    """The keys of ``jira/jira.yaml`` the DAG is built from (the sync job reads the rest)."""

    model_config = ConfigDict(extra="ignore")
    site: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    schedule: str = "@daily"
    warehouse: WarehouseTables = WarehouseTables()
    document: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        """Refuse keys neither side reads when the DAG is parsed, before the first task copies
        the document into the lake: a credential put here would land there. Names the key only."""
        if isinstance(data, dict):
            known = {name for name in cls.model_fields if name != "document"} | SYNC_KEYS
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                raise ValueError(
                    f"unknown key(s) {unknown} (known: {sorted(known)}); credentials never go in this "
                    "file: the site URL, account email and API token are the Airflow connection of "
                    f"logical secret {SECRET!r} (host, login, password)"
                )
        return data


@cache
def ingestion_config() -> DagConfig:
    """The config at ``jira/jira.yaml``; ``ValueError`` naming the file and the key if invalid."""
    path = include_file(CONFIG_FILE)
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a mapping of settings (see the Jira README section)")
    try:
        config = DagConfig.model_validate(document)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in err.errors())
        raise ValueError(f"{path}: {problems}") from None
    config.document = document
    return config


def _safe(run_id: str) -> str:
    # the folder-name rule of spark_jobs.jira.layout.safe
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id)


def _join(*parts: str) -> str:
    return "/".join([parts[0].rstrip("/"), *(p.strip("/") for p in parts[1:] if p)])


def site_root(lake_root: str, site: str) -> str:
    """``SiteLayout.root``: ``<lake>/jira/<site>``."""
    return _join(lake_root, "jira", site)


def run_config_uri(lake_root: str, site: str, run_id: str) -> str:
    """The config a run's sync reads: ``<lake>/jira/<site>/_state/runs/<run_id>/jira.json``."""
    return _join(site_root(lake_root, site), "_state", "runs", _safe(run_id), "jira.json")


def result_uri(lake_root: str, site: str, run_id: str) -> str:
    """``SiteLayout.result_uri``: the transform's result of ``run_id``."""
    return _join(site_root(lake_root, site), "_state", "results", f"{_safe(run_id)}.json")


def _require_run_id(run_id: str | None) -> str:
    if not run_id:
        raise ValueError("The Jira tasks need the run_id of their DAG run (the task context's run_id).")
    return run_id


def sync_arguments(params: dict[str, Any], run_id: str | None) -> list[str]:
    """Write this run's config (rerunning rewrites the same bytes) and return the arguments of
    ``python3.11 -m spark_jobs.jira.extract``. ``params``: the run's ``full_sync`` / ``since``."""
    from airflow.sdk.exceptions import AirflowFailException

    from data_platform.lake.storage import write_bytes
    from data_platform.settings import get_settings

    run_id = _require_run_id(run_id)
    full = bool(params.get("full_sync"))
    since = params.get("since") or ""
    if full and since:
        raise AirflowFailException("Trigger with full_sync or since, not both (see the Jira README section).")
    settings = get_settings()
    config = ingestion_config()
    uri = run_config_uri(settings.lake_root, config.site, run_id)
    write_bytes(uri, json.dumps(config.document, sort_keys=True).encode())
    return [
        "--config",
        uri,
        "--lake-root",
        settings.lake_root,
        "--connection-env",
        CONNECTION_ENV,
        "--full",
        str(full).lower(),
        "--since",
        str(since),
    ]


def transform_arguments(run_id: str | None) -> list[str]:
    """Arguments of ``spark_jobs.jira.transform_job`` for this run."""
    from data_platform.settings import get_settings

    run_id = _require_run_id(run_id)
    lake_root = get_settings().lake_root
    return ["--site", ingestion_config().site, "--lake-root", lake_root, "--run-id", run_id]


def table_outputs(run_id: str | None) -> dict[str, Any]:
    """Files and row counts of the transform of ``run_id`` (fails if it left no result)."""
    from airflow.sdk.exceptions import AirflowException

    from data_platform.lake.storage import exists, read_bytes
    from data_platform.settings import get_settings

    run_id = _require_run_id(run_id)
    uri = result_uri(get_settings().lake_root, ingestion_config().site, run_id)
    if not exists(uri):
        raise AirflowException(
            f"No Jira transform result for run {run_id} at {uri}; see the build_tables task log. "
            "Nothing was loaded; the next run rebuilds from the landed syncs."
        )
    result = json.loads(read_bytes(uri))
    return {
        "issues_changes": result["files"]["issues_changes"],
        "status_history": result["files"]["status_history"],
        "issues": result["issues"],
        "deleted": result["deleted"],
        "status_changes": result["status_changes"],
        "versions": result["versions"],
    }
