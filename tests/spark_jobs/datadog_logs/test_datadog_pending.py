"""The sweep's planning step: exit NOTHING_PENDING_EXIT_CODE (the DAG skips the sweep, no Spark)
when every job run's files are shipped, 0 while a run has something to ship."""

from __future__ import annotations

import json

from datadog_log_files import API_KEY, APP, write_log, write_metadata

from data_platform.datadog.tasks import NOTHING_TO_SHIP_EXIT_CODE
from spark_jobs.datadog_logs import pending
from spark_jobs.datadog_logs.runs import ship_runs


def test_the_planning_step_says_whether_a_sweep_has_anything_to_ship(
    tmp_path, intake_server, monkeypatch, capsys
):
    logs, lake = tmp_path / "logs", f"file://{tmp_path}/lake"
    args = ["--log-uri", f"file://{logs}", "--lake-root", lake, "--env", "test", "--run-id", "sweep-1"]

    assert pending.main(args) == pending.NOTHING_PENDING_EXIT_CODE  # no job run at all
    assert json.loads(capsys.readouterr().out) == {"pending": [], "runs": 0}

    write_log(logs, "run-1", "SPARK_DRIVER/stderr.gz", "26/01/15 10:00:01 INFO A: one\n")
    write_metadata(logs, "run-1", "dag.task", {"spark-job": "tiny"})
    assert pending.main(args) == 0
    assert json.loads(capsys.readouterr().out) == {
        "pending": [{"application_id": APP, "job_run_id": "run-1"}],
        "runs": 1,
    }

    monkeypatch.setenv("DATADOG_CONN", json.dumps({"host": intake_server.url, "password": API_KEY}))
    options = {"lake_root": lake, "service": None, "env": "test", "team": None, "tags": {},
               "secret_id": None, "intake_url": None, "settle_seconds": 1800, "concurrent_requests": 2,
               "final": None}  # fmt: skip
    (shipped,) = ship_runs([(f"file://{logs}", APP, "run-1")], options)
    assert shipped["entries"] == 1
    assert pending.main(args) == pending.NOTHING_PENDING_EXIT_CODE
    assert json.loads(capsys.readouterr().out) == {"pending": [], "runs": 1}

    write_log(logs, "run-1", "SPARK_DRIVER/stdout.gz", "printed\n")  # a file the run wrote later
    assert pending.main(args) == 0


def test_the_dag_skips_on_the_planning_steps_exit_code():
    assert NOTHING_TO_SHIP_EXIT_CODE == pending.NOTHING_PENDING_EXIT_CODE
