"""Platform smoke test: a small day of canary events goes lake -> warehouse -> checks.

The same path every pipeline takes, on whichever target the environment runs: write a day of
synthetic events to the lake, replace that day in the warehouse through a staging table, and
check the day with the data-quality rules in include/warehouse/quality/canary.events.yaml.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from data_platform.alerting import ALERT_POLICY_STANDARD
from data_platform.warehouse.operators import CheckWarehouseTableOperator, LoadToWarehouseOperator

with DAG(
    dag_id="platform_smoke",
    description="Canary events through the lake, the warehouse load and the data-quality checks",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    # a smoke test checks the platform now: no catch-up of missed days when unpaused (backfill
    # them explicitly); days are independent (each run replaces only its own day), so a
    # backfill may run several at once
    catchup=False,
    max_active_runs=4,
    tags=["platform", "smoke"],
    default_args={
        "owner": "data-platform",
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        **ALERT_POLICY_STANDARD.task_callbacks(),
    },
):

    @task(multiple_outputs=True)
    def write_canary_events(**context) -> dict:
        """The events of the run's day: its data interval (a manual run without a logical date
        covers the last complete day); returns rows_out, uris, day and its partition clause."""
        from data_platform.canary import write_canary_events
        from data_platform.intervals import run_data_interval

        day = run_data_interval(context)[0].date().isoformat()
        return {**write_canary_events(day), "day": day, "partition_clause": f"event_day = '{day}'"}

    events = write_canary_events()
    load = LoadToWarehouseOperator(
        task_id="load_canary_events",
        table="canary.events",
        source_uris=events["uris"],
        mode="replace",
        partition_column="event_day",
        partition_value=events["day"],
    )
    check = CheckWarehouseTableOperator(
        task_id="check_canary_events",
        table="canary.events",
        rules="canary.events",
        source_row_count=events["rows_out"],
        partition_clause=events["partition_clause"],
    )
    load >> check
