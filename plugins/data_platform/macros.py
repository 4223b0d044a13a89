"""Template macros for DAGs: target-dependent values resolved when a task renders (run time).

    DAG(..., user_defined_macros=PLATFORM_MACROS)
    PodTask(..., arguments=["--lake-root", "{{ platform.lake_root }}"])

DAG files must not read the target at parse time; a macro is evaluated by the worker that runs
the task, so the same serialized DAG renders ``file://...`` locally and ``s3://...`` on MWAA.

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

from data_platform.settings import get_settings


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


class _SettingsMacro:
    """``{{ platform.<setting> }}`` and ``{{ platform.lake_uri('a', 'b') }}`` in templates."""

    def __getattr__(self, name: str) -> Any:
        return getattr(get_settings(), name)

    def __repr__(self) -> str:  # shown in rendered-template views, never a secret
        return "<platform settings, resolved at run time>"


PLATFORM_MACROS: dict[str, Any] = {"platform": _SettingsMacro(), "run_ds": run_ds}
