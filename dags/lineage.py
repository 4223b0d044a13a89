"""Lineage: the OpenLineage events of the day become column-level lineage in the warehouse and
the catalogs, and Spark job runs without lineage are reported.

Every task and Spark job sends its OpenLineage events to the environment's transport
(include/lineage/transport.yaml): raw event files in the lake, and the catalogs. Each day this
DAG validates the raw events (bad ones quarantined with the reason), builds the column lineage
table (source column -> target column, transformation, job, run, time; with the column lineage
of the warehouse SQL), loads it into lineage.column_edges, checks it, pushes it to the
catalogs, and lists the Spark job runs of the day that emitted no lineage (an alert when any).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from data_platform.alerting import ALERT_POLICY_STANDARD
from data_platform.warehouse.operators import CheckWarehouseTableOperator, LoadToWarehouseOperator

with DAG(
    dag_id="lineage",
    description="OpenLineage events -> column lineage table -> warehouse and catalogs; Spark runs without lineage",
    schedule=CronDataIntervalTimetable("30 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    # every run processes the whole raw folder (the table is a function of all events): missed
    # days need no catch-up, and two runs at once would only write the same table twice
    catchup=False,
    max_active_runs=1,
    tags=["platform", "lineage"],
    default_args={
        "owner": "data-platform",
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        **ALERT_POLICY_STANDARD.task_callbacks(),
    },
):

    @task(multiple_outputs=True)
    def process_events() -> dict:
        """Validate the raw events, quarantine the bad ones, build the column lineage table."""
        from data_platform.lineage.tasks import process_events

        return process_events()

    @task
    def push_to_catalogs(edges_json_uri: str) -> dict:
        """The column lineage table to the environment's catalogs (Marquez / DataHub)."""
        from data_platform.lineage.tasks import push_to_catalogs

        return push_to_catalogs(edges_json_uri)

    @task
    def check_spark_lineage(**context: Any) -> dict:
        """Spark job runs of this run's day (runs of DAG runs whose data interval starts on the
        start day of this run's data interval) without lineage; alerts through the alert policy."""
        from data_platform.intervals import run_data_interval
        from data_platform.lineage.tasks import check_spark_lineage

        return check_spark_lineage(run_data_interval(context)[0].date())

    processed = process_events()
    load = LoadToWarehouseOperator(
        task_id="load_column_edges",
        table="lineage.column_edges",
        source_uris=processed["edges_uri"],
        mode="snapshot",
    )
    check = CheckWarehouseTableOperator(
        task_id="check_column_edges",
        table="lineage.column_edges",
        rules="lineage.column_edges",
        source_row_count=processed["rows_out"],
    )
    load >> check >> push_to_catalogs(processed["edges_json_uri"])
    processed >> check_spark_lineage()
