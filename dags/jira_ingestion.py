"""Jira Cloud ingestion: issues -> lake (every version) -> reporting tables in the warehouse.

Settings in include/jira/jira.yaml (site, cadence, projects, fields, page size, lookback); the
Jira connection is logical secret `jira_cloud` (include/platform/environments.yaml, default
connection id `jira_default`). Each run:

1. sync_arguments: the config this DAG was built from, written to the run's folder in the lake
   (what the sync reads), and the sync's arguments for the target;
   sync_issues (pod, the job image built from the jira_transform artifact): search the issues updated since the saved cursor (minus the lookback) in
   the account's time zone, land every page as returned, reconcile issue ids, commit, then move
   the cursor. A failed sync commits nothing; its rerun repeats the window. A bad config or
   connection (exit code 2) fails the task without retries;
2. build_tables (Spark): raw versions deduped by (issue id, updated), the latest version of
   each live issue with `fields` unpacked, deletions, and the status history;
3. load and check: merge jira.issues by issue id (deleted issues removed), replace
   jira.status_history, then the data-quality rules of both tables.

Backfill: trigger with {"full_sync": true} (every issue again) or {"since": "2026-01-01"}.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import airflow.providers.amazon.aws.operators.base_aws  # noqa: F401 - pre-imported (see cdc_pipelines.py)
import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401 - pre-imported (see cdc_pipelines.py)
from airflow.sdk import DAG, Param, task

from data_platform.alerting import ALERT_POLICY_STANDARD
from data_platform.jira import pipeline as jira
from data_platform.pod import PlatformPodOperator
from data_platform.spark import SparkJobOperator
from data_platform.warehouse.operators import CheckWarehouseTableOperator, LoadToWarehouseOperator

config = jira.ingestion_config()


@task
def sync_arguments(params: dict[str, Any] | None = None, run_id: str | None = None) -> list[str]:
    """Ship the config with this run; returns the sync's arguments."""
    return jira.sync_arguments(params or {}, run_id)


@task
def transform_arguments(run_id: str | None = None) -> list[str]:
    return jira.transform_arguments(run_id)


@task(multiple_outputs=True)
def table_outputs(run_id: str | None = None) -> dict:
    return jira.table_outputs(run_id)


with DAG(
    dag_id="jira_ingestion",
    description="Jira Cloud issues: full then incremental syncs into the lake, reporting tables in the warehouse",
    schedule=config.schedule,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # one sync at a time moves the cursor
    tags=["jira", "lake", "warehouse"],
    params={
        "full_sync": Param(False, type="boolean", description="ignore the cursor, download every issue"),
        "since": Param(None, type=["null", "string"], description="backfill from this UTC date (ISO 8601)"),
    },
    default_args={
        "owner": "data-platform",
        "team": "data-eng",
        "pipeline": "jira",
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        **ALERT_POLICY_STANDARD.task_callbacks(),
    },
):
    sync = PlatformPodOperator(
        task_id="sync_issues",
        profile="small",
        image="jira-jobs",
        cmds=["python3.11", "-m", "spark_jobs.jira.extract"],
        arguments=sync_arguments(),
        secrets=[jira.SECRET],
        fail_on_exit_code=jira.BAD_CONFIG_EXIT_CODE,
        outputs=[f"lake:jira/{config.site}/landing"],
        do_xcom_push=True,
        execution_timeout=timedelta(hours=2),
    )
    build = SparkJobOperator(
        task_id="build_tables",
        job="jira_transform",
        version="1.0",
        entry_point="spark_jobs.jira.transform_job",
        args=transform_arguments(),
        execution_timeout=timedelta(hours=1),
    )
    outputs = table_outputs()
    load_issues = LoadToWarehouseOperator(
        task_id="load_issues",
        table=config.warehouse.issues,
        mode="merge",
        source_uris=outputs["issues_changes"],
        primary_key=["issue_id"],
        delete_column="_op",
        new_columns="add",  # a new custom field (cf_* column) becomes a column, never dropped
    )
    check_issues = CheckWarehouseTableOperator(
        task_id="check_issues",
        table=config.warehouse.issues,
        rules=config.warehouse.issues,
        source_row_count=outputs["issues"],
    )
    load_history = LoadToWarehouseOperator(
        task_id="load_status_history",
        table=config.warehouse.status_history,
        mode="snapshot",
        source_uris=outputs["status_history"],
    )
    check_history = CheckWarehouseTableOperator(
        task_id="check_status_history",
        table=config.warehouse.status_history,
        rules=config.warehouse.status_history,
        source_row_count=outputs["status_changes"],
    )
    sync >> build >> outputs
    load_issues >> check_issues
    load_history >> check_history
