"""The data interval of a run: its own when it has one, else the one the DAG's timetable infers
for a manual run (Airflow 3 manual runs may have no logical date)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from data_platform.intervals import run_data_interval, run_day

DAILY = DAG(
    dag_id="daily",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
)


def test_a_scheduled_or_backfill_run_covers_its_own_interval():
    start, end = datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 1, 4, tzinfo=UTC)
    context = {"data_interval_start": start, "data_interval_end": end, "dag": DAILY}
    assert run_data_interval(context) == (start, end)


def test_a_manual_run_without_logical_date_covers_the_last_complete_interval():
    run = SimpleNamespace(run_after=datetime(2026, 1, 15, 10, 30, tzinfo=UTC))
    context = {"data_interval_start": None, "data_interval_end": None, "dag": DAILY, "dag_run": run}
    assert run_data_interval(context) == (
        datetime(2026, 1, 14, tzinfo=UTC),
        datetime(2026, 1, 15, tzinfo=UTC),
    )


def test_the_run_day_is_the_logical_dates_day_else_the_inferred_intervals_start_day():
    run = SimpleNamespace(run_after=datetime(2026, 1, 15, 23, 30, tzinfo=UTC))
    manual = {"data_interval_start": None, "data_interval_end": None, "dag": DAILY, "dag_run": run}
    assert run_day(manual) == "2026-01-14"
    assert run_day({**manual, "ds": "2026-01-03"}) == "2026-01-03"
