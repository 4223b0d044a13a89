"""The example DAG tests/system/example_pod_task.py (quoted by the README) run by Airflow itself
(``dag.test()``: real task runner, XCom, the secret handed to the process) on the local target."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dag_file_runner import run_dag_file

EXAMPLE = Path(__file__).parents[1] / "system" / "example_pod_task.py"


@pytest.mark.e2e
def test_the_pod_task_example_plans_and_hands_on_its_batches(tmp_path):
    jira = '{"conn_type": "http", "host": "jira.example.com", "password": "example-secret"}'
    output = run_dag_file(
        EXAMPLE.read_text(),
        EXAMPLE.stem,
        tmp_path,
        {"PIPELINE_TARGET": "local", "AIRFLOW_CONN_JIRA_API": jira},
    )
    assert "RUN_STATE success" in output, output[-5000:]
    assert "PLAN {'batches': [['orders', 'customers']]}" in output
