"""A DAG of pod tasks run by Airflow itself (``dag.test()``: real task runner, templating, XCom,
secret masking by the supervisor) on the local target, in a fresh Airflow home."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from data_platform.paths import PLUGINS_DIR, REPO_ROOT

SECRET_PASSWORD = "e2e-pa55word-hidden"

DAG_FILE = textwrap.dedent(
    """
    import json

    from airflow.sdk import DAG, task

    from data_platform.pod import PodTask

    JOB = ["python", "-m", "tests.pod.sample_job"]

    with DAG("pod_tasks_e2e", schedule=None, default_args={"owner": "jane", "team": "data-eng", "pipeline": "cdc"}) as dag:
        plan = PodTask(task_id="plan_batches", profile="small", image="platform-tools", cmds=JOB,
                       arguments=["xcom"], do_xcom_push=True)
        ingest = PodTask(task_id="ingest_issues", profile="small", image="platform-tools", cmds=JOB,
                         arguments=["leak-secret"], secrets=["jira"])
        report = PodTask(task_id="report_run", profile="small", image="platform-tools", cmds=JOB,
                         arguments=["report", "{{ run_id }}"], env_vars={"GREETING": "{{ dag.dag_id }}"})

        @task
        def show(batches):
            print("PLAN " + json.dumps(batches))

        show(plan.output) >> ingest >> report

    if __name__ == "__main__":
        print("RUN_STATE " + str(dag.test().state))
    """
)


@pytest.mark.e2e
def test_a_dag_of_pod_tasks_runs_through_airflow(tmp_path):
    home = tmp_path / "airflow"
    (home / "dags").mkdir(parents=True)
    dag_file = home / "dags" / "pod_tasks_e2e.py"
    dag_file.write_text(DAG_FILE)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "PYTHONPATH": os.pathsep.join([str(PLUGINS_DIR), str(REPO_ROOT)]),
        "PIPELINE_TARGET": "local",
        "AIRFLOW_CONN_JIRA_API": f'{{"conn_type": "http", "host": "jira.example.com", "password": "{SECRET_PASSWORD}"}}',
    }
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run(
        [*airflow, "db", "migrate"], env=env, cwd=tmp_path, capture_output=True, check=True, timeout=300
    )
    done = subprocess.run(
        [sys.executable, str(dag_file)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    output = done.stdout + done.stderr
    assert "RUN_STATE success" in output, output[-5000:]
    assert 'PLAN {"batches": [["orders", "customers"]]}' in output
    assert "password is ***" in output
    assert SECRET_PASSWORD not in output
    assert "GREETING=pod_tasks_e2e" in output
    assert 'args=["manual__' in output
