"""``make backfill-check``: backfill every pipeline over a week through a local scheduler, backfill
the same week again, and show that the second backfill changed no table (row hashes).

For each DAG of ``include/local/backfill.yaml``, in order: its ``prepare`` hook writes the inputs
of the window's days (DMS files, the Jira stand-in's daily changes, satellite product files...),
then ``airflow backfill create`` (the Airflow 3 CLI through :mod:`data_platform.local.runtime`)
makes one run per schedule interval of the window, which the scheduler of
:mod:`data_platform.local.scheduler` runs (real task processes, LocalExecutor); the check waits
for the backfill, printing progress. Then every warehouse and lake table is hashed
(:mod:`data_platform.local.table_hashes`), every DAG is backfilled again with
``--reprocess-behavior completed`` (each run cleared and run again), the tables are hashed again,
and the ``verify`` hooks compare the lake and warehouse with the generated source. Prints runs,
successes, checks and minutes per DAG and pass, the tables hashed and those that changed; exits
1 when a run failed, a check did not pass, a table changed or a verification failed.

Unless ``PLATFORM_LOCAL_DIR`` is set, it works in ``.local/backfill-check`` (emptied first: its
own PostgreSQL, Airflow metadata DB, lake and warehouse), so the demo's state stays as it was.

    .venv/bin/python -m data_platform.local.backfill_check [--days 7] [--first-day 2026-01-15]
        [--runs DAG=N ...] [DAG ...]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import shutil
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from data_platform.config import load_yaml
from data_platform.local.demo import output_to
from data_platform.local.lineage_endpoint import CATALOG_URL_ENV, default_events_file, serving
from data_platform.local.postgres import stop_local_postgres
from data_platform.local.runtime import (
    METADATA_CONN_VAR,
    init,
    local_environment,
    run_airflow,
    sigterm_as_interrupt,
)
from data_platform.local.table_hashes import differences
from data_platform.paths import INCLUDE_PATH_ENV_VAR, REPO_ROOT

REGISTRY = "local/backfill.yaml"
DEFAULT_FIRST_DAY = date(2026, 1, 15)
FINISHED = ("success", "failed")
POLL_SECONDS = 10.0


@dataclass
class Backfill:
    """One ``airflow backfill create`` of one DAG and what its runs did."""

    dag_id: str
    from_date: str
    to_date: str
    runs: int = 0
    states: dict[str, int] = field(default_factory=dict)
    not_created: list[str] = field(default_factory=list)  # "logical date: reason"
    checks_passed: int = 0
    checks_total: int = 0
    failed_tasks: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""

    @property
    def succeeded(self) -> int:
        return self.states.get("success", 0)

    @property
    def ok(self) -> bool:
        return (not self.error and not self.not_created and self.runs > 0 and self.succeeded == self.runs
                and self.checks_passed == self.checks_total)


def window(first_day: date, days: int) -> list[date]:
    return [first_day + timedelta(days=n) for n in range(days)]


def _engine(env: dict[str, str]) -> Any:
    from sqlalchemy import create_engine

    return create_engine(env[METADATA_CONN_VAR])


def _latest_backfill_id(engine: Any, dag_id: str) -> int | None:
    from sqlalchemy import text

    with engine.connect() as connection:
        return connection.execute(text("SELECT max(id) FROM backfill WHERE dag_id = :d"), {"d": dag_id}).scalar()


def _progress(engine: Any, backfill_id: int) -> tuple[dict[str, int], list[str], bool]:
    """Run states of the backfill, the runs it did not create (date: reason), and whether the
    scheduler marked it complete."""
    from sqlalchemy import text

    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT b.logical_date, b.exception_reason, r.state FROM backfill_dag_run b "
            "LEFT JOIN dag_run r ON r.id = b.dag_run_id WHERE b.backfill_id = :b"), {"b": backfill_id}).all()
        completed = connection.execute(
            text("SELECT completed_at IS NOT NULL FROM backfill WHERE id = :b"), {"b": backfill_id}).scalar()
    states: dict[str, int] = {}
    not_created = []
    for logical_date, reason, state in rows:
        if reason:
            not_created.append(f"{logical_date}: {reason}")
        else:
            states[str(state)] = states.get(str(state), 0) + 1
    return states, not_created, bool(completed)


def _outcomes(engine: Any, backfill_id: int) -> tuple[int, int, list[str]]:
    """Checks passed and counted (the ``checks_passed`` / ``checks_total`` of the tasks' returned
    dicts) and the failed task instances (``logical date task_id[map_index]``) of the backfill."""
    from sqlalchemy import text

    with engine.connect() as connection:
        values = connection.execute(text(
            "SELECT x.value FROM xcom x JOIN backfill_dag_run b ON b.dag_run_id = x.dag_run_id "
            "WHERE b.backfill_id = :b AND x.key = 'return_value'"), {"b": backfill_id}).scalars().all()
        failed = connection.execute(text(
            "SELECT r.logical_date, t.task_id, t.map_index FROM task_instance t "
            "JOIN dag_run r ON r.dag_id = t.dag_id AND r.run_id = t.run_id "
            "JOIN backfill_dag_run b ON b.dag_run_id = r.id "
            "WHERE b.backfill_id = :b AND t.state = 'failed' ORDER BY 1, 2, 3"), {"b": backfill_id}).all()
    passed = total = 0
    for value in values:
        if isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, dict):
            passed += int(value.get("checks_passed") or 0)
            total += int(value.get("checks_total") or 0)
    return passed, total, [f"{d:%Y-%m-%dT%H:%M} {t}" + (f"[{m}]" if m >= 0 else "") for d, t, m in failed]


def _max_active_runs(engine: Any, dag_id: str) -> int:
    from sqlalchemy import text

    with engine.connect() as connection:
        found = connection.execute(text("SELECT max_active_runs FROM dag WHERE dag_id = :d"), {"d": dag_id}).scalar()
    return int(found or 1)


def run_backfill(dag_id: str, from_date: str, to_date: str, env: dict[str, str], log_file: Path,
                 reprocess: bool, stall_seconds: float) -> Backfill:
    """``airflow backfill create`` for ``dag_id`` over [from_date, to_date] with the DAG's own
    ``max_active_runs`` (the CLI's default is 10 runs at once, whatever the DAG says), then wait
    until the scheduler finished its runs (or none finished for ``stall_seconds``), printing
    progress."""
    result = Backfill(dag_id, from_date, to_date)
    started = time.monotonic()
    engine = _engine(env)
    command = ["backfill", "create", "--dag-id", dag_id, "--from-date", from_date, "--to-date", to_date,
               "--max-active-runs", str(_max_active_runs(engine, dag_id))]
    if reprocess:
        command += ["--reprocess-behavior", "completed"]
    before = _latest_backfill_id(engine, dag_id)
    with log_file.open("a") as log:
        created = run_airflow(command, env=env, stdout=log, stderr=log, text=True)
    backfill_id = _latest_backfill_id(engine, dag_id)
    if created.returncode != 0 or backfill_id is None or backfill_id == before:
        result.error = f"airflow backfill create exited {created.returncode} (see {log_file})"
        return result
    last_change, shown = time.monotonic(), ""
    while True:
        states, result.not_created, completed = _progress(engine, backfill_id)
        result.runs, result.states = sum(states.values()), states
        finished = sum(states.get(s, 0) for s in FINISHED)
        line = (f"    {finished}/{result.runs} runs finished ("
                + ", ".join(f"{s}: {n}" for s, n in sorted(states.items())) + ")")
        if line != shown:
            print(f"{line} after {time.monotonic() - started:.0f} s", flush=True)
            shown, last_change = line, time.monotonic()
        # the next backfill of this DAG is refused until the scheduler marks this one complete
        if completed or (result.runs == 0 and result.not_created):
            break
        if time.monotonic() - last_change > stall_seconds:
            result.error = f"no run finished for {stall_seconds:.0f} s (scheduler log: {log_file.parent})"
            break
        time.sleep(POLL_SECONDS)
    result.checks_passed, result.checks_total, result.failed_tasks = _outcomes(engine, backfill_id)
    engine.dispose()
    result.seconds = time.monotonic() - started
    return result


def _call(reference: str, log_file: Path, settings: Any, days: list[date]) -> Any:
    """``module:function(settings)`` or ``(settings, days)``, as its signature asks; its console
    output into ``log_file``."""
    module_name, _, function_name = reference.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    args = (settings, days) if len(inspect.signature(function).parameters) > 1 else (settings,)
    with output_to(log_file):
        return function(*args)


def all_hashes(log_file: Path) -> dict[str, Any]:
    """:func:`data_platform.local.rerun_check.all_hashes`, its hooks' logs into ``log_file``."""
    from data_platform.local.rerun_check import all_hashes as hashes

    with output_to(log_file):
        return hashes()


def report(passes: list[list[Backfill]], before: dict[str, Any], after: dict[str, Any],
           verified: dict[str, str]) -> list[str]:
    """The summary: per DAG and pass the runs, successes, checks and minutes; the table hashes."""
    lines = [f"{'dag':24} {'days':22} {'pass':>4} {'runs':>5} {'success':>7} {'checks':>9} {'min':>6}"]
    for number, backfills in enumerate(passes, start=1):
        for b in backfills:
            lines.append(f"{b.dag_id:24} {b.from_date[:10] + '..' + b.to_date[:10]:22} {number:>4} {b.runs:>5} "
                         f"{b.succeeded:>7} {f'{b.checks_passed}/{b.checks_total}':>9} {b.seconds / 60:6.1f}")
            for problem in ([b.error] if b.error else []) + b.not_created + [f"failed {t}" for t in b.failed_tasks]:
                lines.append(f"  {problem}")
    changed = differences(before, after)
    rows = sum(h.rows for h in after.values())
    lines.append(f"\ntables hashed: {len(after)} ({rows} rows); changed by the second backfill: {len(changed)}")
    for name, (old, new) in changed.items():
        lines.append(f"  CHANGED {name}: {old} -> {new}")
    for dag_id, outcome in verified.items():
        lines.append(f"{dag_id}: {outcome}")
    return lines


def _own_local_dir() -> Path | None:
    """``.local/backfill-check``, emptied, unless the caller chose ``PLATFORM_LOCAL_DIR``; returns
    the folder when it is the check's own."""
    if os.environ.get("PLATFORM_LOCAL_DIR"):
        return None
    folder = REPO_ROOT / ".local" / "backfill-check"
    if (folder / "postgres").exists():
        stop_local_postgres(folder / "postgres")
    shutil.rmtree(folder, ignore_errors=True)
    os.environ["PLATFORM_LOCAL_DIR"] = str(folder)
    return folder


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="backfill_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("dag_ids", nargs="*", metavar="DAG", help="only these DAGs (default: every one registered)")
    parser.add_argument("--days", type=int, default=7, help="days in the window (default 7)")
    parser.add_argument("--first-day", type=date.fromisoformat, default=DEFAULT_FIRST_DAY)
    parser.add_argument("--runs", action="append", default=[], metavar="DAG=N", type=_runs_limit,
                        help="backfill DAG over its first N intervals of the window only (hours of an "
                             "hourly DAG, days of a daily one); repeatable")
    parser.add_argument("--stall-minutes", type=float, default=30.0,
                        help="give up on a backfill when none of its runs finished for this long")
    return parser.parse_args(argv)


def _runs_limit(text: str) -> tuple[str, int]:
    dag_id, _, count = text.partition("=")
    if not dag_id or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"--runs takes DAG=N (N >= 1), not {text!r}")
    return dag_id, int(count)


def days_of(entry: dict[str, Any], days: list[date], runs: int | None) -> list[date]:
    """The days whose inputs a DAG's backfill reads: the window, or a daily DAG's first ``runs``."""
    return days if entry.get("hourly") or runs is None else days[:runs]


def to_date(days: list[date], hourly: bool, runs: int | None) -> str:
    """The backfill's last moment: the window's end, or the end of its first ``runs`` hours
    (``hourly``) or days."""
    end = datetime(days[-1].year, days[-1].month, days[-1].day) + timedelta(days=1)
    if runs is not None:
        start = datetime(days[0].year, days[0].month, days[0].day)
        end = min(end, start + (timedelta(hours=runs) if hourly else timedelta(days=runs)))
    return (end - timedelta(seconds=1)).isoformat()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.environ.setdefault(INCLUDE_PATH_ENV_VAR, os.pathsep.join(str(REPO_ROOT / p) for p in ("include", "include/demo")))
    registry: list[dict[str, Any]] = [e for e in load_yaml(REGISTRY) if not args.dag_ids or e["dag_id"] in args.dag_ids]
    unknown = sorted((set(args.dag_ids) | {d for d, _ in args.runs}) - {e["dag_id"] for e in registry})
    if unknown:
        print(f"No registered pipeline named {', '.join(unknown)} (see include/{REGISTRY}).", file=sys.stderr)
        return 2
    own = _own_local_dir()
    try:
        with sigterm_as_interrupt():
            return check(args, registry)
    except KeyboardInterrupt:  # Ctrl+C or kill: the scheduler is stopped, PostgreSQL below
        print("\nBackfill check interrupted; its scheduler and API server are stopped.", file=sys.stderr)
        return 130
    finally:
        if own is not None:  # its own PostgreSQL: nothing of the check keeps running
            stop_local_postgres(own / "postgres")


def check(args: argparse.Namespace, registry: list[dict[str, Any]]) -> int:
    """The check itself (see the module docstring); 0 when everything passed."""
    started = time.monotonic()
    days = window(args.first_day, args.days)
    env = local_environment()
    os.environ.update(env)
    print(f"Backfill check over {days[0]}..{days[-1]} in {os.environ['PLATFORM_LOCAL_DIR']}", flush=True)
    env = init(env, serialize_dags=True)
    os.environ.update(env)
    from data_platform.local import scheduler
    from data_platform.paths import local_dir
    from data_platform.settings import get_settings

    settings = get_settings()
    logs = local_dir() / "backfill-check"
    logs.mkdir(parents=True, exist_ok=True)
    for entry in registry:
        if entry.get("prepare"):
            own_days = days_of(entry, days, dict(args.runs).get(entry["dag_id"]))
            print(f"[{entry['dag_id']}] inputs of {own_days[0]}..{own_days[-1]} ({entry['prepare']})", flush=True)
            extra = _call(entry["prepare"], logs / f"{entry['dag_id']}.log", settings, own_days)
            env.update(extra if isinstance(extra, dict) else {})
    dag_ids = [e["dag_id"] for e in registry]
    unpaused = run_airflow(["dags", "unpause", "--treat-dag-id-as-regex", "-y", f"^({'|'.join(dag_ids)})$"],
                           env=env, capture_output=True, text=True)
    if unpaused.returncode != 0:
        sys.stderr.write(unpaused.stderr[-2000:])
        return 1
    passes: list[list[Backfill]] = [[], []]
    before: dict[str, Any] = {}
    with ExitStack() as stack:
        try:  # the local catalog the lineage transport and the lineage DAG send to, as in the demo
            env[CATALOG_URL_ENV] = stack.enter_context(serving(default_events_file()))
            print(f"Local lineage catalog stand-in on {env[CATALOG_URL_ENV]}", flush=True)
        except OSError as err:
            env.pop(CATALOG_URL_ENV, None)
            print(f"Local lineage catalog stand-in not started ({err}); events still land in the lake.")
        shared = stack.enter_context(scheduler.running(env, logs))
        print(f"Scheduler and execution API up ({shared['AIRFLOW__CORE__EXECUTION_API_SERVER_URL']})", flush=True)
        for number, backfills in enumerate(passes):
            if number == 1:
                before = all_hashes(logs / "hashes.log")
            for entry in registry:
                dag_id = entry["dag_id"]
                last = to_date(days, bool(entry.get("hourly")), dict(args.runs).get(dag_id))
                what = "backfill" if number == 0 else "backfill again (reprocess completed runs)"
                print(f"\n[{dag_id}] {what} {days[0]}T00:00:00..{last}", flush=True)
                backfills.append(run_backfill(dag_id, f"{days[0]}T00:00:00", last, shared,
                                              logs / f"{dag_id}.log", reprocess=number == 1,
                                              stall_seconds=args.stall_minutes * 60))
    after = all_hashes(logs / "hashes.log")
    verified = {}
    for entry in registry:
        if entry.get("verify"):
            try:
                verified[entry["dag_id"]] = "verified: " + str(
                    _call(entry["verify"], logs / f"{entry['dag_id']}.log", settings, days))
            except AssertionError as err:
                verified[entry["dag_id"]] = f"MISMATCH: {err}"
    print("\n=== backfill check ===")
    print("\n".join(report(passes, before, after, verified)))
    load = os.getloadavg()
    print(f"\n{time.monotonic() - started:.0f} s in all; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
          f"logs: {logs}")
    ok = (all(b.ok for p in passes for b in p) and not differences(before, after)
          and not any(v.startswith("MISMATCH") for v in verified.values()))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
