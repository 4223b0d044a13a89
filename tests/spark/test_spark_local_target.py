"""SparkJobOperator on the local target: real spark-submit runs of the tiny job (each JVM start costs seconds,
so there are three: a real Spark run, a failing exit code, a timeout that kills the process group)."""

from __future__ import annotations

import gzip
import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowTaskTimeout
from spark_testing import run_context

pytestmark = pytest.mark.spark


def live_members(group: int) -> list[int]:
    """Processes of a process group that are not zombies (Linux /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state != "Z":
            members.append(int(stat.parent.name))
    return members


def wait_until_no_live_process_in(group: int, seconds: float = 5) -> bool:
    for _ in range(int(seconds * 10)):
        if not live_members(group):
            return True
        time.sleep(0.1)
    return False


def make_task(**kwargs):
    from airflow.sdk import DAG

    from data_platform.spark import SparkJobOperator

    with DAG("spark_local_tests", schedule=None):
        return SparkJobOperator(task_id="count_words", job="tinyjob", version="1", **kwargs)


def test_job_runs_with_spark_submit_and_writes_its_output(spark_include, local_dir, tmp_path, capsys):
    import pyarrow.parquet as pq

    output = tmp_path / "counts"
    task = make_task(
        entry_point="tinyjob.wordcount",
        args=["--words", "b,a,b,c,b", "--output", str(output)],
        conf={"spark.tinyjob.marker": "from-task", "spark.emr-serverless.driver.disk": "40g"},
    )
    context = run_context(task)
    result = task.execute(context)

    counts = dict(zip(*pq.read_table(output).sort_by("word").to_pydict().values(), strict=True))
    assert counts == {"a": 1, "b": 3, "c": 1}
    assert (
        result
        == context["ti"].xcoms["spark_job"]
        == {
            "target": "local",
            "job": "tinyjob",
            "version": "1.0.0",
            "module": "tinyjob.wordcount",
            "exit_code": 0,
            "application_id": "local",
            "job_run_id": result["job_run_id"],
            "log_uri": f"file://{local_dir}/spark/logs",
        }
    )
    # the driver's output is also written in EMR Serverless's log layout (for the log shipper)
    driver = local_dir / "spark/logs/applications/local/jobs" / result["job_run_id"] / "SPARK_DRIVER"
    assert "tinyjob marker=from-task" in gzip.decompress((driver / "stdout.gz").read_bytes()).decode()
    assert (
        "INFO SparkContext: Running Spark version"
        in gzip.decompress((driver / "stderr.gz").read_bytes()).decode()
    )
    assert json.loads((driver.parent / "job_run.json").read_text())["state"] == "SUCCESS"
    assert list((local_dir / "spark" / "tmp").iterdir()) == []  # the run's scratch space is removed
    out = capsys.readouterr().out
    # the merged conf reached the job: the task override and the local default, the EMR-only key did not
    assert "[spark-submit] tinyjob marker=from-task shuffle=4 rows=3" in out
    assert "(dropped for this target) spark.emr-serverless.driver.disk=40g" in out


def test_non_zero_exit_code_fails_the_task_with_the_last_lines(spark_include, local_dir):
    task = make_task(entry_point="tinyjob.fail")
    with pytest.raises(AirflowException, match="spark-submit exited with code 3") as failure:
        task.execute(run_context(task))
    assert "tinyjob: refusing to run" in str(failure.value)


def test_execution_timeout_kills_the_spark_submit_process_group(
    spark_include, local_dir, tmp_path, monkeypatch, capsys
):
    """The timeout counts from the job's own marker file: no guess of spark-submit's start-up time."""
    from data_platform.process import LocalProcess

    marker = tmp_path / "job-started"
    supervise = LocalProcess._supervise

    def supervise_once_the_job_runs(self, process):
        while process.poll() is None and not marker.exists():
            time.sleep(0.05)
        supervise(self, process)

    monkeypatch.setattr(LocalProcess, "_supervise", supervise_once_the_job_runs)
    task = make_task(
        entry_point="tinyjob.sleep", args=[str(marker), "--spark"], execution_timeout=timedelta(seconds=5)
    )
    with pytest.raises(AirflowTaskTimeout, match="hit execution_timeout"):
        task.execute(run_context(task))

    out = capsys.readouterr().out
    assert "[spark-submit] tinyjob: sleeping" in out
    group = int(re.search(r"spark-submit started \(pid (\d+)\)", out).group(1))
    assert wait_until_no_live_process_in(group), "a process of the spark-submit group survived"
    # the killed JVM's scratch space (the JVM packages' copies: 400 MB) was the run's, and is gone
    scratch = Path(re.search(r"tinyjob: scratch (\S+)", out).group(1))
    assert scratch.is_relative_to(local_dir / "spark" / "tmp") and not scratch.exists()
    assert list((local_dir / "spark" / "tmp").iterdir()) == []
