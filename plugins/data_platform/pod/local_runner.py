"""Run a pod task's command as a local process (target ``local``).

The process gets the pod's command, arguments and environment; it runs from the checkout with the
repository root on ``PYTHONPATH`` (so ``python -m spark_jobs.cdc.plan`` works) and ``python``
meaning the interpreter running Airflow. It runs in its own session, so a timeout or a kill
ends the whole process group, children included. Output is logged line by line (secrets redacted).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from data_platform.paths import REPO_ROOT

PYTHON_ALIASES = ("python", "python3", f"python{sys.version_info.major}.{sys.version_info.minor}")
# Variables of the Airflow worker that a pod would not see: connections and variables reach the
# job only when declared (``secrets=[...]``), exactly as on Kubernetes.
WORKER_ONLY_PREFIXES = ("AIRFLOW_CONN_", "AIRFLOW_VAR_")
TAIL_LINES = 20


@dataclass(frozen=True)
class LocalProcessResult:
    returncode: int
    tail: tuple[str, ...]
    timed_out: bool = False
    killed: bool = False


def local_command(cmds: Sequence[str], arguments: Sequence[str]) -> list[str]:
    """The pod's entrypoint + args as one argv; ``python`` becomes this interpreter."""
    argv = [str(part) for part in (*cmds, *arguments)]
    if not argv:
        raise ValueError(
            "cmds/arguments are empty: a local run needs a command (the image's default is unknown)."
        )
    if argv[0] in PYTHON_ALIASES:
        argv[0] = sys.executable
    return argv


def local_environment(task_env: Mapping[str, str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The worker environment minus connections/variables, plus the task's env and repo paths."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not k.startswith(WORKER_ONLY_PREFIXES)}
    env.update(task_env)
    python_path = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(python_path))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class LocalProcess:
    """One run of a command. :meth:`run` blocks; :meth:`kill` may be called from another thread
    or a signal handler (Airflow calls ``on_kill`` from its SIGTERM handler)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log: logging.Logger,
        timeout: float | None = None,
        grace_period: float = 10.0,
        cwd: Path = REPO_ROOT,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.log = log
        self.timeout = timeout
        self.grace_period = grace_period
        self.cwd = cwd
        self._redact = redact or (lambda line: line)
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.RLock()
        self._kill_requested = False
        self._timed_out = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def run(self) -> LocalProcessResult:
        """Start the process, log its output until it ends, and return how it ended."""
        with self._lock:
            if self._kill_requested:
                return LocalProcessResult(returncode=-signal.SIGTERM, tail=(), killed=True)
            process = self._process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
                start_new_session=True,
            )
        if self._kill_requested:  # a kill that arrived (from a signal handler) while starting
            self._terminate_group(process)
        supervisor = threading.Thread(target=self._supervise, args=(process,), daemon=True)
        supervisor.start()
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        try:
            for raw in process.stdout or ():
                line = self._redact(raw.rstrip("\n"))
                tail.append(line)
                self.log.info("%s", line)
            returncode = process.wait()
        finally:
            # However the loop ended (end of output, Airflow's own timeout, an error), nothing of
            # the process group may outlive the task.
            self._terminate_group(process)
            supervisor.join(self.grace_period + 1)
            if process.stdout:
                process.stdout.close()
        return LocalProcessResult(
            returncode=returncode, tail=tuple(tail), timed_out=self._timed_out, killed=self._kill_requested
        )

    def kill(self) -> None:
        """End the process group (SIGTERM, SIGKILL after the grace period)."""
        with self._lock:
            self._kill_requested = True
            process = self._process
        if process is not None:
            self._terminate_group(process)

    def _supervise(self, process: subprocess.Popen[str]) -> None:
        # Like a container, the run ends when the main process ends: anything it left running in
        # the background is stopped too (and releases the output pipe).
        try:
            process.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self._timed_out = True
        self._terminate_group(process)

    def _terminate_group(self, process: subprocess.Popen[str]) -> None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(self.grace_period)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
