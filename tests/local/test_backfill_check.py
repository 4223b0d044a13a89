"""The backfill check: `airflow backfill create` of a DAG over days, run by a local scheduler,
then again with its completed runs reprocessed, and no table changed by the second backfill."""

from __future__ import annotations

import pytest

from data_platform.local.backfill_check import Backfill, main, report
from data_platform.local.table_hashes import TableHash


def test_a_backfill_is_ok_only_when_every_run_succeeded_with_every_check():
    done = Backfill("d", "2026-01-15T00:00:00", "2026-01-16T23:59:59", runs=2, states={"success": 2},
                    checks_passed=8, checks_total=8)
    assert done.ok
    assert not Backfill("d", "a", "b", runs=2, states={"success": 1, "failed": 1}).ok
    assert not Backfill("d", "a", "b", runs=2, states={"success": 2}, checks_passed=7, checks_total=8).ok
    assert not Backfill("d", "a", "b", runs=1, states={"success": 1}, not_created=["2026-01-16: in flight"]).ok
    assert not Backfill("d", "a", "b").ok  # no run at all


def test_the_report_names_every_changed_table_and_problem():
    failed = Backfill("cdc_hourly", "2026-01-15T00:00:00", "2026-01-15T23:59:59", runs=24,
                      states={"success": 23, "failed": 1}, failed_tasks=["2026-01-15T03:00 plan_batches"])
    before = {"warehouse:a.b": TableHash(2, "x"), "lake:c": TableHash(1, "y")}
    after = {"warehouse:a.b": TableHash(3, "z"), "lake:c": TableHash(1, "y")}
    lines = report([[failed], [failed]], before, after, {"cdc_daily": "MISMATCH: shop.orders differs"})
    text = "\n".join(lines)
    assert "cdc_hourly               2026-01-15..2026-01-15    1    24      23" in text
    assert "failed 2026-01-15T03:00 plan_batches" in text
    assert "tables hashed: 2 (4 rows); changed by the second backfill: 1" in text
    assert "CHANGED warehouse:a.b" in text and "cdc_daily: MISMATCH" in text


def test_an_unknown_dag_is_named_before_anything_starts(capsys):
    assert main(["--days", "2", "platform_smokee"]) == 2
    assert "No registered pipeline named platform_smokee" in capsys.readouterr().err


@pytest.mark.e2e
def test_backfilling_platform_smoke_twice_over_two_days_changes_no_table(airflow_runtime, capsys):
    assert main(["--days", "2", "platform_smoke"]) == 0
    out = capsys.readouterr().out
    passes = [line.split() for line in out.splitlines() if line.startswith("platform_smoke ")]
    # dag, days, pass, runs, success, checks, minutes: two runs, both succeeded with all checks
    assert [(p[2], p[3], p[4]) for p in passes] == [("1", "2", "2"), ("2", "2", "2")]
    assert all(p[5].split("/")[0] == p[5].split("/")[1] != "0" for p in passes)
    assert "changed by the second backfill: 0" in out


def test_runs_limit_a_dag_to_its_first_intervals_of_the_window():
    from datetime import date

    from data_platform.local.backfill_check import to_date, window

    days = window(date(2026, 1, 15), 7)
    assert to_date(days, hourly=False, runs=None) == "2026-01-21T23:59:59"
    assert to_date(days, hourly=True, runs=6) == "2026-01-15T05:59:59"
    assert to_date(days, hourly=False, runs=3) == "2026-01-17T23:59:59"
    assert to_date(days, hourly=False, runs=30) == "2026-01-21T23:59:59"
