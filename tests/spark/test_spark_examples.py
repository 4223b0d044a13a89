"""The example DAGs tests/system/example_spark_job.py and example_datadog_shipping.py (quoted by
the README) run by Airflow itself (``dag.test()``: dynamic mapping over a task's XCom, version
pin, spark-submit, the log shipper's pod) on the local target, with the tests' tiny job."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from data_platform.paths import REPO_ROOT
from tests.dag_file_runner import run_dag_file

EXAMPLES = Path(__file__).parents[1] / "system"
API_KEY = "example-secret-api-key-51d2"


def run_example(name: str, spark_include, tmp_path: Path, **env: str) -> str:
    """Run ``tests/system/<name>.py`` on the local target: the lake and Spark logs under
    ``tmp_path/local``, the tiny job's include copy before the product's include folder."""
    include_path = os.pathsep.join(map(str, [spark_include.root, REPO_ROOT / "include"]))
    env = {
        "PIPELINE_TARGET": "local",
        "PLATFORM_LOCAL_DIR": str(tmp_path / "local"),
        "PLATFORM_INCLUDE_PATH": include_path,
        **env,
    }
    return run_dag_file((EXAMPLES / f"{name}.py").read_text(), name, tmp_path, env)


@pytest.mark.e2e
@pytest.mark.spark
def test_the_spark_job_example_runs_one_job_per_batch(spark_include, tmp_path):
    import pyarrow.parquet as pq

    output = run_example("example_spark_job", spark_include, tmp_path)

    assert "RUN_STATE success" in output, output[-6000:]
    counts = pq.read_table(tmp_path / "local" / "lake" / "examples" / "word_counts").to_pylist()
    assert sorted((row["word"], row["count"]) for row in counts) == [("a", 1), ("b", 3), ("c", 1)]


@pytest.mark.e2e
@pytest.mark.spark
def test_the_shipping_example_ships_every_line_of_the_job_once(spark_include, tmp_path):
    from data_platform.local.datadog_demo import compare_with_files
    from data_platform.local.datadog_intake import LocalDatadogIntake

    with LocalDatadogIntake((API_KEY,)) as intake:
        connection = json.dumps({"conn_type": "http", "host": intake.url, "password": API_KEY})
        output = run_example(
            "example_datadog_shipping",
            spark_include,
            tmp_path,
            PIPELINE_ENV=os.environ.get("PIPELINE_ENV", "local"),
            AIRFLOW_CONN_DATADOG_API=connection,
        )
        events = list(intake.events)

    assert "RUN_STATE success" in output, output[-6000:]
    counts = compare_with_files(events, f"file://{tmp_path / 'local' / 'spark' / 'logs'}")
    assert counts["runs"] == 1 and counts["files"] >= 1
    assert any("tinyjob marker=- " in event["message"] for event in events)
    tags = [dict(tag.split(":", 1) for tag in event["ddtags"].split(",")) for event in events]
    assert {(t["job_name"], t["env"]) for t in tags} == {("tinyjob", "local")}
    assert API_KEY not in output and API_KEY not in json.dumps(events)
