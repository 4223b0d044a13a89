"""Platform smoke test: a small day of canary events goes lake -> warehouse -> checks."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task

from data_platform.alerting import ALERT_POLICY_STANDARD

with DAG(
    dag_id="platform_smoke",
    description="Canary events through the lake, the warehouse load and the data-quality checks",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["platform", "smoke"],
    default_args={
        "owner": "data-platform",
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        **ALERT_POLICY_STANDARD.task_callbacks(),
    },
):

    @task
    def write_canary_events(ds: str | None = None) -> dict:
        from data_platform.canary import write_canary_events

        return write_canary_events(ds)

    write_canary_events()
