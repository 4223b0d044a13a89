"""CDC from operational databases: AWS DMS files -> lake tables -> warehouse, checked.

One DAG per refresh cadence (cdc_10min, cdc_hourly, cdc_daily, ...), generated from the
compiled table index (include/cdc/tables.json, built from include/cdc/tables/*.yaml when the
bundle is built). Adding a table is adding config. Each run:

1. table_configs: the cadence's tables from that index, written to the run's folder in the lake
   (what the planner and the merge jobs read: the configuration this DAG was built from);
2. plan_batches (pod, the job image built from the cdc_merge artifact): which tables have new
   DMS files, in batches of the configured size; merge_arguments turns the plan into the merge
   jobs' arguments and is skipped when no table has new files: the rest of the run is skipped
   with it (no Spark job, no load) and the run succeeds;
3. merge_batch (Spark on EMR Serverless / local, one job per batch): per table take its lock,
   read the new files, reduce them to the net change per key, write the Hudi / snapshot table,
   then mark the files processed. A failing table never stops the others of its batch;
4. per table (mapped group): take the table's merge result, load its change set into the
   warehouse (merge by key, deletes applied) and run its data-quality checks. A table whose
   merge failed fails here, alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# PlatformPodOperator subclasses KubernetesPodOperator and SparkJobOperator the Amazon provider's
# AwsBaseOperator (boto3); importing them here lets the dag-processor pre-import them once
# ([dag_processor] parsing_pre_import_modules) instead of in every parse (benchmarks/dag_parse.py).
import airflow.providers.amazon.aws.operators.base_aws  # noqa: F401
import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401
from airflow.sdk import DAG, TriggerRule, task, task_group

from data_platform.alerting import ALERT_POLICY_CRITICAL
from data_platform.cdc import pipeline as cdc
from data_platform.pod import PlatformPodOperator
from data_platform.spark import SparkJobOperator
from data_platform.warehouse.operators import CheckWarehouseTableOperator, LoadToWarehouseOperator


@task
def table_configs(cadence: str, run_id: str | None = None) -> list[str]:
    """Ship the cadence's table configs with this run; returns the planner's arguments."""
    return cdc.plan_arguments(cadence, run_id)


@task
def merge_arguments(plan: dict, run_id: str | None = None) -> list[list[str]]:
    """One merge job's arguments per batch; skipped (and the rest of the run with it) when no
    table of the cadence has new DMS files."""
    return cdc.merge_arguments(plan, run_id)


@task
def planned_tables(plan: dict) -> list[str]:
    return cdc.planned_tables(plan)


@task(multiple_outputs=True, trigger_rule=TriggerRule.ALL_DONE)
def merge_result(table_id: str, run_id: str | None = None) -> dict:
    return cdc.warehouse_load_for(table_id, run_id)


@task_group
def load_table(table_id: str) -> None:
    changes = merge_result(table_id)
    load = LoadToWarehouseOperator(
        task_id="load",
        table=changes["warehouse_table"],
        mode=changes["mode"],
        source_uris=changes["source_uris"],
        primary_key=changes["primary_key"],
        delete_column=changes["delete_column"],
        order_by=changes["order_by"],
        new_columns=changes["new_columns"],
    )
    check = CheckWarehouseTableOperator(
        task_id="check",
        table=changes["warehouse_table"],
        rules=changes["dq_rule"],
        source_row_count=changes["lake_rows"],
    )
    load >> check


for cadence, schedule in cdc.cadences().items():
    with DAG(
        dag_id=f"cdc_{cadence}",
        description=f"CDC ({cadence}): DMS files merged into lake tables, loaded into the warehouse and checked",
        schedule=schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["cdc", "lake", "warehouse", cadence],
        default_args={
            "owner": "data-platform",
            "team": "data-eng",
            "pipeline": "cdc",
            "retries": 2,
            "retry_delay": timedelta(minutes=5),
            **ALERT_POLICY_CRITICAL.task_callbacks(),
        },
    ):
        plan = PlatformPodOperator(
            task_id="plan_batches",
            profile="small",
            image="cdc-jobs",
            cmds=["python3.11", "-m", "spark_jobs.cdc.plan"],
            arguments=table_configs(cadence),
            do_xcom_push=True,
        )
        arguments = merge_arguments(plan.output)
        tables = planned_tables(plan.output)
        arguments >> tables  # skipped with it when nothing is to merge
        merge = SparkJobOperator.partial(
            task_id="merge_batch",
            job="cdc_merge",
            version="1.0",
            entry_point="spark_jobs.cdc.merge_job",
            alert_policy=ALERT_POLICY_CRITICAL,
            execution_timeout=timedelta(hours=2),
        ).expand(args=arguments)
        merge >> load_table.expand(table_id=tables)
