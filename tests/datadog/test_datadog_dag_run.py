"""The Datadog log shipping DAG run by Airflow on the local target: the sweep (a local Spark job)
ships the logs left behind, then the sweep's own logs right after it ends; the intake holds every
line of every file once, with the runs' tags, and the API key appears nowhere."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from data_platform.local.datadog_demo import compare_with_files
from data_platform.local.datadog_intake import LocalDatadogIntake
from data_platform.paths import REPO_ROOT
from tests.dag_file_runner import run_dag_file

API_KEY = "e2e-secret-api-key-7c9a41"


def dag_source() -> str:
    source = (REPO_ROOT / "dags" / "datadog_log_shipping.py").read_text()
    opening = "\n):\n    arguments = sweep_arguments()"
    assert opening in source
    source = source.replace(opening, "\n) as dag:\n    arguments = sweep_arguments()")
    return source + (
        "\n\nif __name__ == '__main__':\n"
        "    from datetime import timezone\n"
        "    run = dag.test(logical_date=datetime(2026, 1, 16, 1, tzinfo=timezone.utc))\n"
        "    print('RUN_STATE ' + str(run.state))\n"
        "    for ti in run.get_task_instances():\n"
        "        print(f'TASK_STATE {ti.task_id} {ti.state}')\n"
    )


def task_states(output: str) -> dict[str, str]:
    return {
        line.split()[1]: line.split()[2] for line in output.splitlines() if line.startswith("TASK_STATE ")
    }


def run_with_intake(tmp_path: Path) -> tuple[str, list[dict]]:
    with LocalDatadogIntake((API_KEY,)) as intake:
        connection = json.dumps({"conn_type": "http", "host": intake.url, "password": API_KEY})
        env = {
            "PLATFORM_LOCAL_DIR": str(tmp_path / "local"),
            "PIPELINE_TARGET": "local",
            "AIRFLOW_CONN_DATADOG_API": connection,
        }
        env = {**env, "PIPELINE_ENV": os.environ.get("PIPELINE_ENV", "local")}
        output = run_dag_file(dag_source(), "datadog_log_shipping", tmp_path, env)
        return output, list(intake.events)


def write_finished_run(log_root: Path) -> None:
    """An EMR Serverless-shaped run that ended (executor + retry attempt, a stack trace, bad UTF-8)."""
    run = log_root / "applications" / "00fappe2e" / "jobs" / "00frun1"
    files = {
        "SPARK_DRIVER/stderr.gz": b"26/01/15 10:00:01 INFO SparkContext: Running Spark version 3.5.6\n"
        b"26/01/15 10:00:02 ERROR Executor: task failed\njava.lang.RuntimeException: boom\n\tat a.B.c(B.java:1)\n",
        "SPARK_DRIVER/stdout.gz": b"caf\xe9 printed\n",
        "SPARK_EXECUTOR/1/stderr.gz": b'{"ts": "2026-01-15T10:00:03.000+00:00", "level": "INFO", "logger": "job", '
        b'"thread": "MainThread", "message": "rows written", "rows": 3}\n',
        "attempts/2/SPARK_DRIVER/stderr.gz": b"26/01/15 10:05:00 WARN Retry: second attempt\n",
    }
    for relative, data in files.items():
        (run / relative).parent.mkdir(parents=True, exist_ok=True)
        (run / relative).write_bytes(gzip.compress(data))
    metadata = {
        "name": "shop.merge",
        "tags": {"spark-job": "cdc_merge", "team": "data-eng"},
        "state": "SUCCESS",
    }
    (run / "job_run.json").write_text(json.dumps(metadata))


@pytest.mark.e2e
@pytest.mark.spark
def test_the_sweep_and_the_post_run_task_ship_every_line_once(tmp_path):
    log_root = tmp_path / "local" / "spark" / "logs"
    write_finished_run(log_root)
    output, events = run_with_intake(tmp_path)
    assert "RUN_STATE success" in output, output[-6000:]
    assert set(task_states(output).values()) == {"success"}, task_states(output)
    counts = compare_with_files(events, f"file://{log_root}")
    assert counts["runs"] == 2 and counts["files"] == 6  # the finished run + the sweep's own driver logs
    by_job = {}
    for event in events:
        by_job.setdefault(dict(t.split(":", 1) for t in event["ddtags"].split(","))["job_name"], []).append(
            event
        )
    assert set(by_job) == {"cdc_merge", "datadog_logs"}
    assert any("java.lang.RuntimeException: boom\n\tat" in e["message"] for e in by_job["cdc_merge"])
    assert any(e["message"] == "caf\ufffd printed" for e in by_job["cdc_merge"])
    assert all("team:data-eng" in e["ddtags"] and "env:local" in e["ddtags"] for e in by_job["cdc_merge"])
    assert API_KEY not in output  # masked in task logs, never in arguments or rendered templates
    assert API_KEY not in json.dumps(events)


@pytest.mark.e2e
def test_an_hour_with_nothing_to_ship_skips_the_sweep_and_starts_no_spark_job(tmp_path):
    """Every file of the log location already shipped (here: no job run at all): the planning
    pod exits with the skip code, the sweep and the shipping of its logs are skipped, the run
    succeeds and no Spark job writes logs."""
    output, events = run_with_intake(tmp_path)
    assert "RUN_STATE success" in output, output[-6000:]
    assert task_states(output) == {
        "sweep_arguments": "success",
        "find_logs_to_ship": "skipped",
        "ship_spark_logs": "skipped",
        "ship_sweep_logs_arguments": "skipped",
        "ship_sweep_logs": "skipped",
    }
    assert events == []
    assert not (tmp_path / "local" / "spark" / "logs" / "applications").exists()  # no Spark job ran
