"""The data interval a task run covers, for every kind of run.

Scheduled and backfill runs carry their data interval. An Airflow 3 manual run triggered
without a logical date (the UI's default, ``logical_date: null`` in the REST API) carries none:
it covers the interval the DAG's timetable infers for its ``run_after``
(``Timetable.infer_manual_data_interval``, the rule Airflow itself applies to manual runs with
a logical date), e.g. the last complete day of a daily cron DAG.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def run_data_interval(context: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """(start, end) of the run of ``context`` (a task's Airflow context), UTC-aware datetimes.

    Raises KeyError when the context has neither a data interval nor the DAG run and DAG."""
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is not None and end is not None:
        return start, end
    interval = context["dag"].timetable.infer_manual_data_interval(run_after=context["dag_run"].run_after)
    return interval.start, interval.end


def run_day(context: Mapping[str, Any]) -> str:
    """``YYYY-MM-DD``: the logical date's day when the run has one (``ds``), else the start day
    of the interval the timetable infers for a manual run without a logical date."""
    if context.get("ds"):
        return str(context["ds"])
    return run_data_interval(context)[0].date().isoformat()
