"""A local scheduler for backfills: Airflow's scheduler and the execution API, nothing else.

``airflow backfill create`` only records the runs; the scheduler runs them, and its
LocalExecutor's task processes talk to the execution API of an API server. :func:`running` starts
both (``airflow scheduler`` and ``airflow api-server --apps execution``, one worker) in one
process group on a free port, with a JWT secret shared by the two made for this session only,
waits until the execution API answers, and stops the whole group when the block ends (as
:func:`data_platform.local.runtime.run_group` does on Ctrl+C). No dag-processor runs: the
runtime's ``init`` serialized the DAGs, and ``[scheduler] use_job_schedule = False`` keeps the
scheduler to the runs it is given (unpaused DAGs start no scheduled runs of their own).
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from data_platform.local.runtime import stop_group
from data_platform.paths import REPO_ROOT

READY_TIMEOUT_SECONDS = 300.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scheduler_environment(env: dict[str, str], port: int) -> dict[str, str]:
    """``env`` plus what the scheduler, its task processes and the execution API must share."""
    return {
        **env,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    }


def _wait_ready(url: str, processes: dict[str, subprocess.Popen], log_dir: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited with {process.returncode}; see {log_dir / name}.log")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(2)
    raise TimeoutError(f"the execution API did not answer on {url} in {READY_TIMEOUT_SECONDS:.0f} s; see {log_dir}")


@contextmanager
def running(env: dict[str, str], log_dir: Path) -> Iterator[dict[str, str]]:
    """Start the execution API and the scheduler with ``env``; yields the environment they share.

    Their output goes to ``log_dir/api-server.log`` and ``log_dir/scheduler.log``.

    :raises RuntimeError: a process exited before the API answered.
    :raises TimeoutError: the API did not answer within ``READY_TIMEOUT_SECONDS``.
    """
    port = free_port()
    shared = scheduler_environment(env, port)
    log_dir.mkdir(parents=True, exist_ok=True)
    commands = {
        "api-server": ["api-server", "--apps", "execution", "--port", str(port), "--workers", "1"],
        "scheduler": ["scheduler"],
    }
    processes: dict[str, subprocess.Popen] = {}
    try:
        for name, args in commands.items():
            with (log_dir / f"{name}.log").open("a") as log:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", *args], env=shared, cwd=REPO_ROOT,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
        _wait_ready(f"http://127.0.0.1:{port}/execution/health", processes, log_dir)
        yield shared
    finally:
        for process in reversed(processes.values()):
            stop_group(process, grace_period=30.0)
