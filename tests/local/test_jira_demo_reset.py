"""A second `make demo` starts the Jira demo on a new site: its lake folder AND its warehouse
tables are emptied (the last demo's created issues stayed in the table and failed the row count)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from data_platform.jira import pipeline
from data_platform.local import jira_demo

FIXTURE_INCLUDE = Path(__file__).resolve().parents[1] / "jira" / "fixtures" / "include"


def test_the_demo_site_starts_with_empty_warehouse_tables(warehouse_conn_id, monkeypatch):
    monkeypatch.setenv("PLATFORM_INCLUDE_PATH", str(FIXTURE_INCLUDE))  # tables jira_test.*
    pipeline.ingestion_config.cache_clear()
    settings = SimpleNamespace(warehouse_conn_id=warehouse_conn_id)
    try:
        jira_demo._warehouse(settings, "DROP SCHEMA IF EXISTS jira_test CASCADE", fetch=False)
        jira_demo.empty_warehouse_tables(settings)  # no tables yet: nothing to do
        jira_demo._warehouse(settings, "CREATE SCHEMA jira_test", fetch=False)
        jira_demo._warehouse(settings, "CREATE TABLE jira_test.issues AS SELECT 1 AS issue_id", fetch=False)
        jira_demo.empty_warehouse_tables(settings)  # status_history does not exist: left alone
        assert jira_demo._warehouse(settings, "SELECT COUNT(*) AS n FROM jira_test.issues") == [{"n": 0}]
    finally:
        jira_demo._warehouse(settings, "DROP SCHEMA IF EXISTS jira_test CASCADE", fetch=False)
        pipeline.ingestion_config.cache_clear()
