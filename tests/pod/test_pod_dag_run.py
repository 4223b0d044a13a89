"""A DAG of pod tasks run by Airflow itself (``dag.test()``: real task runner, templating, XCom,
secret masking by the supervisor) on the local target, in a fresh Airflow home."""

from __future__ import annotations

import textwrap

import pytest

from tests.dag_file_runner import run_dag_file

SECRET_PASSWORD = "e2e-pa55word-hidden"

DAG_FILE = textwrap.dedent(
    """
    import json

    from airflow.sdk import DAG, task

    from data_platform.pod import PlatformPodOperator

    JOB = ["python", "-m", "tests.pod.sample_job"]

    with DAG("pod_tasks_e2e", schedule=None, default_args={"owner": "jane", "team": "data-eng", "pipeline": "cdc"}) as dag:
        plan = PlatformPodOperator(task_id="plan_batches", profile="small", image="platform-tools", cmds=JOB,
                       arguments=["xcom"], do_xcom_push=True)
        ingest = PlatformPodOperator(task_id="ingest_issues", profile="small", image="platform-tools", cmds=JOB,
                         arguments=["leak-secret"], secrets=["jira"])
        report = PlatformPodOperator(task_id="report_run", profile="small", image="platform-tools", cmds=JOB,
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
    output = run_dag_file(
        DAG_FILE,
        "pod_tasks_e2e",
        tmp_path,
        {
            "PIPELINE_TARGET": "local",
            "AIRFLOW_CONN_JIRA_API": f'{{"conn_type": "http", "host": "jira.example.com", "password": "{SECRET_PASSWORD}"}}',
        },
    )
    assert "RUN_STATE success" in output, output[-5000:]
    assert 'PLAN {"batches": [["orders", "customers"]]}' in output
    assert "password is ***" in output
    assert SECRET_PASSWORD not in output
    assert "GREETING=pod_tasks_e2e" in output
    assert 'args=["manual__' in output
