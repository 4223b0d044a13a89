"""The example DAG tests/system/example_spark_job.py (quoted by the README) run by Airflow itself
(``dag.test()``: dynamic mapping over a task's XCom, version pin, spark-submit) on the local target."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data_platform.paths import REPO_ROOT
from tests.dag_file_runner import run_dag_file

EXAMPLE = Path(__file__).parents[1] / "system" / "example_spark_job.py"


@pytest.mark.e2e
@pytest.mark.spark
def test_the_spark_job_example_runs_one_job_per_batch(spark_include, tmp_path):
    import pyarrow.parquet as pq

    local = tmp_path / "local"
    include_path = os.pathsep.join(map(str, [spark_include.root, REPO_ROOT / "include"]))
    env = {"PIPELINE_TARGET": "local", "PLATFORM_LOCAL_DIR": str(local), "PLATFORM_INCLUDE_PATH": include_path}
    output = run_dag_file(EXAMPLE.read_text(), EXAMPLE.stem, tmp_path, env)

    assert "RUN_STATE success" in output, output[-6000:]
    counts = pq.read_table(local / "lake" / "examples" / "word_counts").to_pylist()
    assert sorted((row["word"], row["count"]) for row in counts) == [("a", 1), ("b", 3), ("c", 1)]
