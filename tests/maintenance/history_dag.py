"""A DAG whose runs make a varied history for the metadata round trip test (not a product DAG):
``extract`` succeeds, ``maybe_skip`` skips, ``load`` fails on 2026-01-02 and succeeds otherwise."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task
from airflow.sdk.exceptions import AirflowSkipException

with DAG(dag_id="metadata_history", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False,
         max_active_runs=1) as dag:

    @task
    def extract() -> int:
        return 1

    @task
    def maybe_skip() -> None:
        raise AirflowSkipException("nothing to do")

    @task(retries=0)
    def load(**context) -> None:
        if context["data_interval_start"].date().isoformat() == "2026-01-02":
            raise ValueError("load fails on 2026-01-02")

    first = extract()
    first >> [maybe_skip(), load()]
