"""The one supervisor of local child processes: pod tasks and Spark jobs on the local target.

A child runs in its own session (process group), its output is streamed into the task log line by
line (redacted), and a timeout or a kill ends the whole group: SIGTERM, then SIGKILL for whatever
is left after the grace period. Its environment is the worker's without the variables a pod or an
EMR job would not see (Airflow connections and variables).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

# Variables of the Airflow worker that a pod or an EMR job would not see: connections and
# variables reach a job only when declared (``secrets=[...]``), as on Kubernetes.
WORKER_ONLY_PREFIXES = ("AIRFLOW_CONN_", "AIRFLOW_VAR_")
TAIL_LINES = 20


class TaskLog(Protocol):
    """What the supervisor logs to (a task's ``self.log``)."""

    def info(self, event: str, *args: Any) -> Any: ...

    def warning(self, event: str, *args: Any) -> Any: ...


def child_environment(extra: Mapping[str, str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: the worker's environment) without connections/variables, plus ``extra``."""
    source = os.environ if base is None else base
    return {**{k: v for k, v in source.items() if not k.startswith(WORKER_ONLY_PREFIXES)}, **extra}


@dataclass(frozen=True)
class LocalProcessResult:
    returncode: int
    tail: tuple[str, ...]
    timed_out: bool = False
    killed: bool = False


class LocalProcess:
    """One run of a command. :meth:`run` blocks; :meth:`kill` may be called from another thread
    or a signal handler (Airflow calls ``on_kill`` from its SIGTERM handler).

    :param timeout: seconds until the group is stopped (``timed_out`` in the result); None: none.
    :param grace_period: seconds between SIGTERM and SIGKILL.
    :param label: set: output lines are logged as ``[label] line`` and the start with the pid.
    :param tail_lines: how many last output lines the result keeps (for error messages).
    :param on_output: set: stderr is read apart from stdout and each (redacted) line is also given
        to ``on_output(stream, line)`` with ``stream`` ``"stdout"`` or ``"stderr"``, from one
        thread per stream (e.g. to keep each stream in its own file); unset: stderr goes to stdout.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log: TaskLog,
        timeout: float | None = None,
        grace_period: float = 10.0,
        cwd: Path,
        redact: Callable[[str], str] | None = None,
        label: str | None = None,
        tail_lines: int = TAIL_LINES,
        on_output: Callable[[str, str], None] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.log = log
        self.timeout = timeout
        self.grace_period = grace_period
        self.cwd = cwd
        self._redact = redact or (lambda line: line)
        self.label = label
        self.tail_lines = tail_lines
        self.on_output = on_output
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
                stderr=subprocess.STDOUT if self.on_output is None else subprocess.PIPE,
                text=True,
                errors="replace",
                bufsize=1,
                start_new_session=True,
            )
        if self._kill_requested:  # a kill that arrived (from a signal handler) while starting
            self._terminate_group(process)
        if self.label:
            self.log.info("%s started (pid %s)", self.label, process.pid)
        supervisor = threading.Thread(target=self._supervise, args=(process,), daemon=True)
        supervisor.start()
        tail: deque[str] = deque(maxlen=self.tail_lines)
        stderr_reader = None
        if process.stderr is not None:
            stderr_reader = threading.Thread(
                target=self._pump, args=("stderr", process.stderr, tail), daemon=True
            )
            stderr_reader.start()
        try:
            self._pump("stdout", process.stdout, tail)
            returncode = process.wait()
        finally:
            # However the loop ended (end of output, Airflow's own timeout, an error), nothing of
            # the process group may outlive the task.
            self._terminate_group(process)
            supervisor.join(self.grace_period + 1)
            if stderr_reader is not None:
                stderr_reader.join(self.grace_period + 1)
            for pipe in (process.stdout, process.stderr):
                if pipe:
                    pipe.close()
        return LocalProcessResult(
            returncode=returncode, tail=tuple(tail), timed_out=self._timed_out, killed=self._kill_requested
        )

    def _pump(self, stream: str, pipe: IO[str] | None, tail: deque[str]) -> None:
        """Log each line of ``pipe`` (redacted), keep it in ``tail``, give it to ``on_output``."""
        template = f"[{self.label}] %s" if self.label else "%s"
        for raw in pipe or ():
            line = self._redact(raw.rstrip("\n"))
            tail.append(line)
            self.log.info(template, line)
            if self.on_output is not None:
                self.on_output(stream, line)

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
