"""The local target: the job's entry point, args and merged conf through ``spark-submit``.

Runs pyspark's ``spark-submit`` (next to the current interpreter) in local mode with the working
tree's package on ``PYTHONPATH`` and ``PYSPARK_PYTHON`` set to this interpreter. Output is streamed
into the task log line by line; the exit code decides the task state; the process group is
killed when the task times out or is killed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from data_platform.spark.conf import SparkConf
from data_platform.spark.local_logs import LocalRunLogs, stream_output

LAUNCHER = Path(__file__).resolve().parent / "launcher.py"
KILL_GRACE_SECONDS = 10
_SUBMIT_OPTIONS = {"spark.driver.memory": "--driver-memory"}
_PRIVATE_ENV_PREFIXES = ("AIRFLOW_CONN_", "AIRFLOW_VAR_")


class LocalSparkTimeout(Exception):
    """spark-submit was still running at the task's deadline (and has been killed)."""


def spark_submit_executable() -> str:
    """pyspark's ``spark-submit`` of this interpreter's environment (or the one on PATH)."""
    beside = Path(sys.executable).parent / "spark-submit"
    if beside.is_file():
        return str(beside)
    found = shutil.which("spark-submit")
    if not found:
        raise FileNotFoundError(
            "spark-submit not found next to the Python interpreter or on PATH; install pyspark "
            "(requirements-dev.txt) into the environment Airflow runs in."
        )
    return found


class LocalSparkSubmit:
    def __init__(
        self,
        *,
        master: str,
        conf: SparkConf,
        source_root: Path,
        workdir: Path,
        module: str,
        args: Sequence[str],
        name: str,
        log: logging.Logger,
        tail_lines: int = 50,
        run_logs: LocalRunLogs | None = None,
        extra_env: Mapping[str, str] | None = None,
    ):
        self.master = master
        self.conf = conf
        self.source_root = source_root
        self.workdir = workdir
        self.module = module
        self.args = [str(a) for a in args]
        self.name = name
        self.log = log
        self.tail: deque[str] = deque(maxlen=tail_lines)
        self.run_logs = run_logs  # driver stdout/stderr also written in EMR Serverless's log layout
        self.extra_env = dict(extra_env or {})  # the task's secrets (<NAME>_CONN), masked in logs
        self._process: subprocess.Popen[str] | None = None

    def command(self) -> list[str]:
        command = [spark_submit_executable(), "--master", self.master, "--name", self.name]
        for key, value in sorted(self.conf.values.items()):
            if key in _SUBMIT_OPTIONS:
                command += [_SUBMIT_OPTIONS[key], value]
            else:
                command += ["--conf", f"{key}={value}"]
        return [*command, str(self.workdir / LAUNCHER.name), self.module, *self.args]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_ENV_PREFIXES)}
        env.update(
            PYSPARK_PYTHON=sys.executable,
            PYSPARK_DRIVER_PYTHON=sys.executable,
            # Only the job's package, as on EMR (not the worker's plugins/: jobs never import them).
            PYTHONPATH=str(self.source_root),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode: no need to resolve the host name
        return env

    def run(self, deadline: datetime) -> int:
        """Run to the end and return the exit code; kill it at ``deadline`` (LocalSparkTimeout)."""
        command = self.command()
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Run a copy, as on EMR: the script's folder goes first on sys.path, and this package's
        # folder would shadow standard modules (operator.py).
        shutil.copyfile(LAUNCHER, self.workdir / LAUNCHER.name)
        self.log.info("Running: %s", " ".join(command))
        self._process = process = subprocess.Popen(
            command,
            env=self.environment(),
            cwd=self.workdir,  # spark-warehouse/ and friends stay out of the checkout
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,  # its own process group: kill() reaches the JVM and Python workers
        )
        self.log.info("spark-submit started (pid %s)", process.pid)
        if self.run_logs is not None:
            self.run_logs.start()
        readers = stream_output(process, self.log, self.tail, self.run_logs)
        try:
            while process.poll() is None:
                remaining = (deadline - datetime.now(UTC)).total_seconds()
                if remaining <= 0:
                    self.kill()
                    raise LocalSparkTimeout(
                        f"spark-submit still running at the deadline {deadline.isoformat()}"
                    )
                time.sleep(min(0.5, remaining))
        finally:
            for reader in readers:
                reader.join(timeout=KILL_GRACE_SECONDS)
            if self.run_logs is not None:
                self.run_logs.finish(process.returncode)
        return process.returncode

    def kill(self) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL for whatever is left after a grace period."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        self.log.warning("Stopping spark-submit (pid %s) and its children", process.pid)
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.log.warning("spark-submit did not stop within %s s", KILL_GRACE_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group (Python driver, workers)
        process.wait()
