"""Run dates that also work in runs without a logical date, for templates and task code.

Runs without a logical date. In Airflow 3 a manual run (the UI's trigger, ``mwaa trigger``
without ``--logical-date``) may have no logical date and no data interval: ``{{ ds }}``,
``logical_date`` and ``data_interval_end`` are then absent. Every run has ``run_after`` (for a
manual run: when it was triggered), so the platform's rule is: the run's day is the logical
date's day, else the UTC day of ``run_after``; the run's interval end is ``data_interval_end``,
else ``run_after``. Use ``{{ run_ds() }}`` instead of ``{{ ds }}`` in templates and
:func:`run_day` / :func:`run_interval_end` in Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jinja2 import pass_context


def run_interval_end(context: Mapping[str, Any]) -> datetime:
    """The end of the run's data interval, or its ``run_after`` when it has none (UTC-aware)."""
    end = context.get("data_interval_end")
    if end is None:
        dag_run = context.get("dag_run")
        end = getattr(dag_run, "run_after", None)
    if end is None:
        raise ValueError("the task context has neither data_interval_end nor dag_run.run_after")
    return end if end.tzinfo else end.replace(tzinfo=UTC)


def run_day(context: Mapping[str, Any]) -> str:
    """``YYYY-MM-DD``: ``ds`` when the run has a logical date, else the UTC day of ``run_after``."""
    if context.get("ds"):
        return str(context["ds"])
    dag_run = context.get("dag_run")
    run_after = getattr(dag_run, "run_after", None)
    if run_after is None:
        raise ValueError("the task context has neither ds nor dag_run.run_after")
    moment = run_after if run_after.tzinfo else run_after.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


@pass_context
def run_ds(context: Mapping[str, Any]) -> str:
    """``{{ run_ds() }}``: :func:`run_day` of the rendering task's context."""
    return run_day(context)


# Target-dependent values are not macros: tasks read them from data_platform.settings at run time.
PLATFORM_MACROS: dict[str, Any] = {"run_ds": run_ds}
