"""``make demo``: run every registered DAG once through Airflow on the local target.

For each entry of ``include/local/demo.yaml``: prepare sample inputs, run the DAG with
``airflow dags test`` (real Airflow: scheduler-free, but tasks, XCom, mapping, deferral and the
metadata DB are the real ones), verify the outputs, then print one summary line per DAG.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_platform.config import load_yaml
from data_platform.local.lineage_endpoint import CATALOG_URL_ENV, default_events_file, serving
from data_platform.local.runtime import default_include_path, init, local_environment
from data_platform.paths import INCLUDE_PATH_ENV_VAR, REPO_ROOT, local_dir

REGISTRY = "local/demo.yaml"
_PROGRESS = re.compile(r"\[DAG TEST\] (starting|end task) task_id=(\S+) map_index=(-?\d+)")


@dataclass
class DagOutcome:
    dag_id: str
    state: str = "not run"
    runs: int = 0
    seconds: float = 0.0
    rows_in: int | None = None
    rows_out: int | None = None
    checks_passed: int = 0
    checks_total: int = 0
    verified: str = "-"
    outputs: list[str] = field(default_factory=list)
    failed_tasks: list[str] = field(default_factory=list)
    log_file: Path | None = None
    env: dict[str, str] = field(default_factory=dict, repr=False)  # the runs' env (stand-ins' connections)


@contextmanager
def output_to(log_file: Path) -> Iterator[None]:
    """Everything this process writes to stdout and stderr (file descriptors 1 and 2) while the
    block runs is appended to ``log_file`` instead of the console: the demo's prepare/verify
    hooks call Airflow hooks whose logs (``Running statement: ...``, written by Airflow's
    structlog to stdout) and libraries whose warnings belong with the DAG's log, not in the
    summary. Descriptors, not ``sys.stdout``, so loggers holding the stream and child
    processes are redirected too."""
    sys.stdout.flush()
    sys.stderr.flush()
    with log_file.open("a") as log:
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        try:
            for fd in saved:
                os.dup2(log.fileno(), fd)
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)


def _call(reference: str, log_file: Path, *args: Any) -> Any:
    """``module:function(*args)``, its console output (logs, warnings) into ``log_file``."""
    module_name, _, function_name = reference.partition(":")
    with output_to(log_file):
        return getattr(importlib.import_module(module_name), function_name)(*args)


def run_dag(dag_id: str, logical_date: str, env: dict[str, str], log_file: Path) -> int:
    """Run one DAG run, streaming task progress to the console and everything to ``log_file``."""
    command = [sys.executable, "-m", "airflow", "dags", "test", dag_id, logical_date]
    with (
        log_file.open("a") as log,
        subprocess.Popen(
            command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            match = _PROGRESS.search(line)
            if match:
                verb, task_id, map_index = match.groups()
                suffix = f"[{map_index}]" if map_index != "-1" else ""
                arrow = "->" if verb == "starting" else "ok"
                print(f"    {arrow} {task_id}{suffix}", flush=True)
        return process.wait()


def read_last_run(dag_id: str) -> dict[str, Any]:
    """State, task states (``task_id[map_index]``) and returned dicts of the DAG's latest run."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.xcom import XCOM_RETURN_KEY, XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        if run is None:
            return {"state": "not run", "run_id": None, "tasks": {}, "values": {}}
        instances = session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id
        )
        tasks = {
            ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state) for ti in instances
        }
        rows = session.query(XComModel).filter(
            XComModel.dag_id == dag_id, XComModel.run_id == run.run_id, XComModel.key == XCOM_RETURN_KEY
        )
        values: dict[str, list[dict]] = {}
        for row in rows:
            value = XComModel.deserialize_value(row)
            if isinstance(value, dict):
                values.setdefault(row.task_id, []).append(value)
        return {"state": str(run.state), "run_id": run.run_id, "tasks": tasks, "values": values}


def last_run(dag_id: str, env: dict[str, str]) -> dict[str, Any]:
    """:func:`read_last_run` in a fresh interpreter, so the metadata DB is the one ``env`` names
    whatever Airflow configuration this process may already have loaded."""
    code = (
        "import json; from data_platform.local.demo import read_last_run; "
        f"print(json.dumps(read_last_run({dag_id!r}), default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _collect(outcome: DagOutcome, entry: dict[str, Any], env: dict[str, str]) -> None:
    """Add the latest run's state, failed tasks and metrics to ``outcome``."""
    run = last_run(outcome.dag_id, env)
    outcome.state = run["state"]
    outcome.failed_tasks += [t for t, state in sorted(run["tasks"].items()) if state == "failed"]
    values: dict[str, list[dict]] = run["values"]
    for metrics in (m for task_values in values.values() for m in task_values):
        outcome.checks_passed += int(metrics.get("checks_passed") or 0)
        outcome.checks_total += int(metrics.get("checks_total") or 0)
    for attribute in ("rows_in", "rows_out"):
        if entry.get(attribute):
            task_id, _, key = entry[attribute].rpartition(".")
            found = [int(m[key]) for m in values.get(task_id, []) if m.get(key) is not None]
            if found:
                setattr(outcome, attribute, (getattr(outcome, attribute) or 0) + sum(found))


def run_entry(entry: dict[str, Any], env: dict[str, str]) -> DagOutcome:
    from data_platform.settings import get_settings

    settings = get_settings()
    dag_id = entry["dag_id"]
    logs = local_dir() / "demo" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / f"{dag_id}.log"
    log_file.write_text("")
    outcome = DagOutcome(dag_id=dag_id, log_file=log_file)
    expand = {"lake_root": settings.lake_root, "local_dir": str(local_dir())}
    outcome.outputs = [o.format(**expand) for o in entry.get("outputs", [])]
    started = time.monotonic()
    if entry.get("prepare"):
        print(f"  preparing sample inputs ({entry['prepare']})", flush=True)
        extra_env = _call(entry["prepare"], log_file, settings)
        if isinstance(extra_env, dict):  # e.g. the connection of a local stand-in server
            env = {**env, **extra_env}
    outcome.env = env
    for index, logical_date in enumerate(entry["logical_dates"]):
        if entry.get("before_each_run"):
            _call(entry["before_each_run"], log_file, settings, index)
        print(f"  run {dag_id} for {logical_date}", flush=True)
        code = run_dag(dag_id, logical_date, env, log_file)
        outcome.runs += 1
        _collect(outcome, entry, env)
        if code != 0 or outcome.state != "success":
            outcome.state = f"{outcome.state} (exit {code})" if code else outcome.state
            break
    else:
        if entry.get("verify"):
            try:
                outcome.verified = str(_call(entry["verify"], log_file, settings))
            except AssertionError as err:
                outcome.verified = f"MISMATCH: {err}"
                outcome.state = "failed verification"
    outcome.seconds = time.monotonic() - started
    return outcome


def print_summary(outcomes: list[DagOutcome]) -> None:
    print("\n=== demo summary (rows and checks summed over the runs of each DAG) ===")
    header = f"{'dag':32} {'state':10} {'runs':>4} {'rows in':>9} {'rows out':>9} {'checks':>8} {'secs':>6}"
    print(header)
    print("-" * len(header))
    for o in outcomes:
        rows_in = "-" if o.rows_in is None else str(o.rows_in)
        rows_out = "-" if o.rows_out is None else str(o.rows_out)
        checks = f"{o.checks_passed}/{o.checks_total}"
        print(
            f"{o.dag_id:32} {o.state:10} {o.runs:>4} {rows_in:>9} {rows_out:>9} {checks:>8} {o.seconds:6.1f}"
        )
    for o in outcomes:
        print(f"\n{o.dag_id}: verified: {o.verified}")
        if o.failed_tasks:
            print(f"  failed tasks: {', '.join(o.failed_tasks)}")
        for output in o.outputs:
            print(f"  {output}")
        print(f"  log: {o.log_file}")
    print(f"\nlineage events (raw): {local_dir() / 'lake' / '_lineage' / 'raw'}")
    print(f"lineage events (local catalog): {default_events_file()}")
    print(f"alerts (local): {local_dir() / 'alerts' / 'alerts.jsonl'}")


def main(argv: list[str]) -> int:
    only = set(argv)
    # the registry is on the local include path (include/local/): read it before anything starts,
    # so a typo in a name starts no PostgreSQL
    os.environ.setdefault(INCLUDE_PATH_ENV_VAR, os.pathsep.join(str(p) for p in default_include_path()))
    registry: list[dict[str, Any]] = load_yaml(REGISTRY)
    unknown = sorted(only - {entry["dag_id"] for entry in registry})
    if unknown:
        known = ", ".join(entry["dag_id"] for entry in registry)
        print(f"No demo pipeline named {', '.join(unknown)} (known: {known}).", file=sys.stderr)
        return 2
    outcomes = []
    with ExitStack() as stack:
        # a free port, so two demos (or a demo and a test run) never collide; the local lineage
        # transport reads the URL (include/lineage/transport.yaml)
        stack.callback(os.environ.pop, CATALOG_URL_ENV, None)
        try:
            os.environ[CATALOG_URL_ENV] = stack.enter_context(serving(default_events_file()))
            print(f"Local lineage catalog stand-in on {os.environ[CATALOG_URL_ENV]}", flush=True)
        except OSError as err:
            os.environ.pop(CATALOG_URL_ENV, None)
            print(f"Local lineage catalog stand-in not started ({err}); events still land in the lake.")
        env = local_environment()
        os.environ.update(env)  # the prepare and verify steps read the local include path
        print("Preparing the local runtime (embedded PostgreSQL, Airflow metadata DB)...", flush=True)
        env = init(env, serialize_dags=False)
        os.environ.update(env)
        for entry in registry:
            if only and entry["dag_id"] not in only:
                continue
            print(f"\n[{entry['dag_id']}]", flush=True)
            outcomes.append(run_entry(entry, env))
    print_summary(outcomes)
    return 0 if all(o.state == "success" for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
