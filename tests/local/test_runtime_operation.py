"""Local operation as a user meets it: Ctrl+C stops every process the command started, the
runtime prepares the DB and DAGs only when something changed, a typo in a demo name fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data_platform.local import demo, runtime

REPO_ROOT = Path(__file__).resolve().parents[2]
# a command that starts two grandchildren (as standalone starts its scheduler and workers)
SPAWNER = (
    "import subprocess, sys, time; [subprocess.Popen(['sleep', '300']) for _ in range(2)]; time.sleep(300)"
)


def _alive(pid: int) -> bool:
    """Running (a zombie has exited: only its parent has not collected it yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(") ", 1)[-1][0] != "Z"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_ctrl_c_or_kill_stops_the_whole_process_group(tmp_path, stop):
    driver = (
        "import sys; from data_platform.local.runtime import run_group; "
        f"sys.exit(run_group([sys.executable, '-c', {SPAWNER!r}], dict(__import__('os').environ), grace_period=5))"
    )
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'plugins'}:{REPO_ROOT}"}
    parent = subprocess.Popen([sys.executable, "-c", driver], env=env, stderr=subprocess.PIPE, text=True)
    children: list[int] = []
    for _ in range(300):  # the spawner and its two sleeps appear
        found = subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True, text=True)
        spawner = [int(p) for p in found.stdout.split()]
        if spawner:
            sleeps = subprocess.run(
                ["pgrep", "-P", str(spawner[0])], capture_output=True, text=True
            ).stdout.split()
            if len(sleeps) == 2:
                children = spawner + [int(p) for p in sleeps]
                break
        time.sleep(0.1)
    assert len(children) == 3, "the command did not start"
    parent.send_signal(stop)
    assert parent.wait(timeout=60) == 130
    assert "stopping" in parent.stderr.read()
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in children if _alive(p)] == [], "processes outlived Ctrl+C"


def test_a_killed_backfill_check_stops_what_it_started(tmp_path, monkeypatch, capsys):
    from data_platform.local import backfill_check

    stopped: list[Path] = []

    def killed_midway(args, registry):
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` while backfills run
        time.sleep(30)
        return 0

    monkeypatch.setattr(backfill_check, "check", killed_midway)
    monkeypatch.setattr(backfill_check, "_own_local_dir", lambda: tmp_path)
    monkeypatch.setattr(backfill_check, "stop_local_postgres", stopped.append)
    previous = signal.getsignal(signal.SIGTERM)
    assert backfill_check.main(["platform_smoke"]) == 130
    assert stopped == [tmp_path / "postgres"]
    assert "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is previous


def test_init_fingerprint_changes_only_with_what_init_depends_on(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "a.py").write_text("# a DAG")
    env = {"AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://x"}
    steps = [["db", "migrate"]]
    first = runtime.init_fingerprint(env, steps)
    assert runtime.init_fingerprint(env, steps) == first
    assert runtime.init_fingerprint(env, [*steps, ["dags", "reserialize"]]) != first
    (dags / "a.py").write_text("# a changed DAG")
    assert runtime.init_fingerprint(env, steps) != first


def test_an_unknown_demo_pipeline_is_named_and_fails(monkeypatch, capsys):
    monkeypatch.setattr(demo, "load_yaml", lambda _: [{"dag_id": "orders_daily"}, {"dag_id": "cdc_hourly"}])
    monkeypatch.setattr(demo, "local_environment", pytest.fail)  # no PostgreSQL starts for a typo
    monkeypatch.setattr(demo, "init", pytest.fail)
    monkeypatch.setenv("PLATFORM_INCLUDE_PATH", str(REPO_ROOT / "include"))  # restored after the test
    assert demo.main(["cdc_hourlyy"]) == 2
    assert "No demo pipeline named cdc_hourlyy (known: orders_daily, cdc_hourly)" in capsys.readouterr().err


def test_the_backfill_summary_lists_the_runs_the_backfill_made():
    runs = [
        {
            "run_id": "backfill__2026-01-02T00:00:00+00:00",
            "logical_date": "2026-01-02T00:00:00+00:00",
            "state": "queued",
        },
        {
            "run_id": "backfill__2026-01-01T00:00:00+00:00",
            "logical_date": "2026-01-01T00:00:00+00:00",
            "state": "running",
        },
        {
            "run_id": "scheduled__2026-01-02T00:00:00+00:00",
            "logical_date": "2026-01-02T00:00:00+00:00",
            "state": "success",
        },
        {
            "run_id": "backfill__2025-12-01T00:00:00+00:00",
            "logical_date": "2025-12-01T00:00:00+00:00",
            "state": "success",
        },
    ]
    summary = runtime.summarize_backfill("orders_daily", "2026-01-01", "2026-01-02", runs).splitlines()
    assert summary[:3] == [
        "backfill of orders_daily from 2026-01-01 to 2026-01-02: 2 run(s) (queued: 1, running: 1)",
        "  2026-01-01T00:00:00+00:00  running  backfill__2026-01-01T00:00:00+00:00",
        "  2026-01-02T00:00:00+00:00  queued   backfill__2026-01-02T00:00:00+00:00",
    ]


def test_make_demo_passes_the_names_after_it_to_the_demo():
    """`make demo cdc_hourly jira_ingestion` runs those DAGs (the names are not make targets)."""
    dry_run = subprocess.run(
        ["make", "-n", "demo", "cdc_hourly", "jira_ingestion"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert dry_run.returncode == 0, dry_run.stderr
    assert "-m data_platform.local.demo cdc_hourly jira_ingestion" in dry_run.stdout
