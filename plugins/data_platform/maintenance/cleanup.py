"""Metadata cleanup with ``airflow db clean``, as MWAA allows it on Airflow 3.

Airflow 3 tasks cannot open the metadata DB, so the Airflow 2 pattern (a DAG calling
``airflow.utils.db_cleanup.run_cleanup`` with an ORM session) no longer works; AWS's MWAA guide
("Aurora PostgreSQL database cleanup on an Amazon MWAA environment") says to run the
``airflow db clean`` CLI command through the environment's CLI endpoint instead. So:

- aws: ``CreateCliToken`` for the environment, then ``POST https://<web server>/aws_mwaa/cli``
  with the command line as the body (answer: base64 ``stdout``/``stderr``);
- local: the same command line through the local ``airflow`` CLI (a process with the local
  runtime's settings, as the local API server has).

:func:`cleanup_commands` builds the command lines from ``include/maintenance/metadata.yaml``:
a dry run first (``--dry-run`` prints what each table would lose), then the cleanup with
``--skip-archive`` (nothing is kept in ``_airflow_deleted__*`` archive tables) and
``--error-on-cleanup-failure``, then ``db drop-archived`` for archives earlier runs left.
"""

from __future__ import annotations

import base64
import shlex
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any, Protocol

from data_platform.maintenance.config import CleanupConfig


class CliError(RuntimeError):
    """An Airflow CLI command failed; the message has the command and the end of its stderr."""


class AirflowCli(Protocol):
    def run(self, command: list[str]) -> str:
        """Run ``airflow <command>``; its stdout; CliError when it fails."""
        ...


def clean_before(now: datetime, retention_days: int) -> datetime:
    """The ``--clean-before-timestamp``: ``now`` minus the retention (timezone-aware, UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (the data interval end of the run)")
    return now - timedelta(days=retention_days)


def cleanup_commands(config: CleanupConfig, before: datetime) -> dict[str, list[str]]:
    """The ``dry_run``, ``clean`` and (if configured) ``drop_archived`` command lines."""
    common = ["db", "clean", "--clean-before-timestamp", before.isoformat(), "--batch-size", str(config.batch_size)]
    if config.tables:
        common += ["--tables", ",".join(config.tables)]
    if config.exclude_dag_ids:
        common += ["--exclude-dag-ids", ",".join(config.exclude_dag_ids)]
    commands = {
        "dry_run": [*common, "--dry-run"],
        "clean": [*common, "--skip-archive", "--error-on-cleanup-failure", "--yes"],
    }
    if config.drop_archived:
        commands["drop_archived"] = ["db", "drop-archived", "--yes"]
    return commands


class LocalAirflowCli:
    """The ``airflow`` CLI of this interpreter, with this process's environment (local target)."""

    def __init__(self, timeout_seconds: float = 3600):
        self._timeout = timeout_seconds

    def run(self, command: list[str]) -> str:
        done = subprocess.run([sys.executable, "-m", "airflow", *command], capture_output=True, text=True,
                              timeout=self._timeout)
        if done.returncode != 0:
            raise CliError(f"airflow {shlex.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout


class MwaaAirflowCli:
    """The CLI endpoint of MWAA environment ``environment`` (role needs ``airflow:CreateCliToken``)."""

    def __init__(self, environment: str, aws_conn_id: str | None = "aws_default", region_name: str | None = None,
                 timeout_seconds: float = 3600):
        from airflow.providers.amazon.aws.hooks.mwaa import MwaaHook

        self._environment = environment
        self._hook = MwaaHook(aws_conn_id=aws_conn_id, region_name=region_name)
        self._timeout = timeout_seconds

    def run(self, command: list[str]) -> str:
        import requests

        token = self._hook.conn.create_cli_token(Name=self._environment)
        response = requests.post(
            f"https://{token['WebServerHostname']}/aws_mwaa/cli",
            headers={"Authorization": f"Bearer {token['CliToken']}", "Content-Type": "text/plain"},
            data=shlex.join(command),
            timeout=self._timeout,
        )
        if response.status_code != 200:
            raise CliError(f"airflow {shlex.join(command)} on {self._environment}: HTTP {response.status_code}")
        answer: dict[str, Any] = response.json()
        stdout = base64.b64decode(answer.get("stdout") or b"").decode(errors="replace")
        stderr = base64.b64decode(answer.get("stderr") or b"").decode(errors="replace")
        if "Traceback" in stderr or "error:" in stderr.lower():
            raise CliError(f"airflow {shlex.join(command)} on {self._environment} failed: {stderr[-2000:]}")
        return stdout


def run_cleanup(cli: AirflowCli, config: CleanupConfig, before: datetime) -> dict[str, str]:
    """Run the dry run, then the cleanup (and the archive drop); returns each command's output."""
    return {step: cli.run(command) for step, command in cleanup_commands(config, before).items()}
