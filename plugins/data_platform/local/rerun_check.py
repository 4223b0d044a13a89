"""``make rerun-check``: run the registered pipelines, run the same intervals again, and show
that the rerun changed no table (row hashes of every warehouse and lake table, before/after).

Pass 1 is the demo (``include/local/demo.yaml``: sample inputs, stand-ins, every logical date of
each DAG through ``airflow dags test``, verification). Then every warehouse and lake table is
hashed (:mod:`data_platform.local.table_hashes`), each (DAG, logical date) of pass 1 runs again
with the same inputs, and the tables are hashed again. Prints the runs and durations of both
passes and every table whose rows changed; exits 1 when a run failed or a table changed.

    .venv/bin/python -m data_platform.local.rerun_check [DAG ...]
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_platform.config import load_yaml
from data_platform.local.demo import REGISTRY, DagOutcome, last_run, run_dag, run_entry
from data_platform.local.runtime import init, local_environment
from data_platform.local.table_hashes import TableHash, differences, lake_hashes, warehouse_hashes
from data_platform.paths import local_dir


@dataclass
class Rerun:
    dag_id: str
    runs: int
    seconds: float
    state: str


def all_hashes() -> dict[str, TableHash]:
    """Every warehouse table (``warehouse:schema.table``) and lake table (``lake:folder``)."""
    from airflow.sdk import BaseHook

    from data_platform.settings import get_settings

    settings = get_settings()
    hook = BaseHook.get_connection(settings.warehouse_conn_id).get_hook()
    lake_dir = Path(settings.lake_root.removeprefix("file://"))
    return {**{f"warehouse:{k}": v for k, v in warehouse_hashes(hook).items()},
            **{f"lake:{k}": v for k, v in lake_hashes(lake_dir).items()}}


def rerun(outcome: DagOutcome, logical_dates: list[str]) -> Rerun:
    """Run ``outcome``'s DAG again for each of ``logical_dates`` with the env of its first pass."""
    log_file = local_dir() / "demo" / "logs" / f"{outcome.dag_id}.rerun.log"
    log_file.write_text("")
    started, state, runs = time.monotonic(), "success", 0
    for logical_date in logical_dates:
        print(f"  rerun {outcome.dag_id} for {logical_date}", flush=True)
        code = run_dag(outcome.dag_id, logical_date, outcome.env, log_file)
        runs += 1
        state = last_run(outcome.dag_id, outcome.env)["state"] if code == 0 else f"exit {code}"
        if state != "success":
            break
    return Rerun(outcome.dag_id, runs, time.monotonic() - started, state)


def report(first: list[DagOutcome], second: list[Rerun], before: dict[str, TableHash],
           after: dict[str, TableHash]) -> list[str]:
    """The summary lines: runs and seconds of both passes per DAG, then the table comparison."""
    lines = [f"{'dag':28} {'pass 1':>14} {'secs':>7} {'rerun':>14} {'secs':>7}"]
    for one, two in zip(first, second, strict=False):
        lines.append(f"{one.dag_id:28} {f'{one.runs} {one.state}':>14} {one.seconds:7.1f} "
                     f"{f'{two.runs} {two.state}':>14} {two.seconds:7.1f}")
    changed = differences(before, after)
    rows = sum(h.rows for h in after.values())
    equal = sum(1 for name in before if name not in changed)
    lines.append(f"\n{len(before)} tables before the rerun, {len(after)} after, {rows} rows; "
                 f"{equal} with equal row hashes, {len(changed)} changed")
    for name, (old, new) in changed.items():
        lines.append(f"  CHANGED {name}: {old} -> {new}")
    return lines


def main(argv: list[str]) -> int:
    only = set(argv)
    env = local_environment()
    os.environ.update(env)
    registry: list[dict[str, Any]] = [e for e in load_yaml(REGISTRY) if not only or e["dag_id"] in only]
    unknown = sorted(only - {e["dag_id"] for e in registry})
    if unknown:
        print(f"No registered pipeline named {', '.join(unknown)}.", file=sys.stderr)
        return 2
    env = init(env, serialize_dags=False)
    os.environ.update(env)
    first = []
    for entry in registry:
        print(f"\n[{entry['dag_id']}] pass 1", flush=True)
        first.append(run_entry(entry, env))
    if any(o.state != "success" for o in first):
        print("\n".join(f"{o.dag_id}: {o.state} ({o.verified})" for o in first), file=sys.stderr)
        return 1
    before = all_hashes()
    second = []
    for entry, outcome in zip(registry, first, strict=True):
        print(f"\n[{entry['dag_id']}] rerun of the same intervals", flush=True)
        second.append(rerun(outcome, [str(d) for d in entry["logical_dates"]]))
    after = all_hashes()
    print("\n".join(report(first, second, before, after)))
    return 0 if all(r.state == "success" for r in second) and not differences(before, after) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
