"""OpenLineage of a pod's job: the transport (aws: the Spark agent's of the environment) and the
Airflow task run as parent, as environment variables of the pod or local process."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter
from pod_testing import LOGICAL_DATE, make_task, run_context

from data_platform.config import ConfigError
from data_platform.pod.lineage_env import agent_transport_env
from data_platform.url_credentials import url_credentials
from spark_jobs.common.lineage import LineageEmitter, ParentRun
from tests.dag_file_runner import run_dag_file

JOB = ["python", "-m", "tests.pod.sample_job"]


def task_run_id(dag_id: str, task_id: str, try_number: int = 1) -> str:
    """The run id the OpenLineage provider gives the task run (its listener's events carry it)."""
    return OpenLineageAdapter.build_task_instance_run_id(
        dag_id=dag_id, task_id=task_id, try_number=try_number, logical_date=LOGICAL_DATE, map_index=-1
    )


def pod_env(task, context=None) -> dict[str, str]:
    pod = task.build_pod_request_obj(context, dry_run=True)
    return {var.name: var.value for var in pod.spec.containers[0].env if var.value is not None}


def test_aws_pods_get_the_spark_agents_transport_and_the_task_run_as_parent(aws_target):
    task = make_task(cmds=["python", "-m", "spark_jobs.jira.extract"], secrets=["jira"])
    env = pod_env(task, run_context(task))
    # include/spark/environments.yaml, dev: what SparkJobOperator's jobs send to on EMR Serverless
    assert {k: v for k, v in env.items() if k.startswith("OPENLINEAGE")} == {
        "OPENLINEAGE__TRANSPORT__TYPE": "http",
        "OPENLINEAGE__TRANSPORT__URL": "https://lineage.dev.acme.internal",
        "OPENLINEAGE__TRANSPORT__ENDPOINT": "/api/v1/lineage",
        "OPENLINEAGE_NAMESPACE": "acme-dev",
        "OPENLINEAGE_PARENT_ID": f"default/cdc_sales.discover_files/{task_run_id('cdc_sales', 'discover_files')}",
    }
    assert not [value for value in env.values() if url_credentials(value)]


def test_the_parent_follows_the_try_and_needs_a_run(aws_target):
    task = make_task(cmds=["true"])
    context = run_context(task)
    context["ti"].try_number = 2
    assert pod_env(task, context)["OPENLINEAGE_PARENT_ID"].endswith(
        task_run_id("cdc_sales", "discover_files", try_number=2)
    )
    assert "OPENLINEAGE_PARENT_ID" not in pod_env(make_task(cmds=["true"]))  # no run: no parent
    assert pod_env(make_task(cmds=["true"]))["OPENLINEAGE__TRANSPORT__TYPE"] == "http"


def test_a_tasks_own_openlineage_variables_win(aws_target):
    task = make_task(cmds=["true"], env_vars={"OPENLINEAGE_NAMESPACE": "team-x"})
    assert pod_env(task, run_context(task))["OPENLINEAGE_NAMESPACE"] == "team-x"


def test_local_pods_add_no_transport(local_dir):
    # the local process inherits the runtime's OPENLINEAGE_CONFIG (tests/local covers it)
    task = make_task(cmds=["true"])
    assert [name for name in pod_env(task) if name.startswith("OPENLINEAGE")] == []


def test_agent_transport_mapping():
    conf = {
        "spark.openlineage.transport.type": "http",
        "spark.openlineage.transport.url": "https://lineage.example.com",
        "spark.openlineage.transport.timeoutInMillis": "2500",
        "spark.openlineage.transport.compression": "gzip",
        "spark.executor.memory": "4g",
    }
    assert agent_transport_env(conf) == {
        "OPENLINEAGE__TRANSPORT__TYPE": "http",
        "OPENLINEAGE__TRANSPORT__URL": "https://lineage.example.com",
        "OPENLINEAGE__TRANSPORT__TIMEOUT": "2.5",
        "OPENLINEAGE__TRANSPORT__COMPRESSION": "gzip",
    }
    assert agent_transport_env({"spark.openlineage.namespace": "x"}) == {}


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"spark.openlineage.transport.type": "kafka"}, r"type='kafka'.*http or console"),
        (
            {"spark.openlineage.transport.type": "http", "spark.openlineage.transport.auth.type": "api_key"},
            r"transport.auth.type has no openlineage-python equivalent",
        ),
    ],
)
def test_agent_transports_pods_cannot_take(conf, message):
    with pytest.raises(ConfigError, match=message):
        agent_transport_env(conf)


def test_the_job_reads_the_parent_from_the_environment(monkeypatch):
    run_id = "01890f9a-2b3c-7d4e-8f00-000000000001"
    assert ParentRun.from_environment({"OPENLINEAGE_PARENT_ID": f"ns/dag.task/{run_id}"}) == ParentRun(
        "ns", "dag.task", run_id
    )
    assert ParentRun.from_environment({"OPENLINEAGE_PARENT_ID": "dag.task"}) is None
    assert ParentRun.from_environment({}) is None
    monkeypatch.setenv("OPENLINEAGE_PARENT_ID", f"ns/dag.task/{run_id}")
    assert LineageEmitter.from_environment({"type": "noop"}).parent == ParentRun("ns", "dag.task", run_id)
    explicit = ParentRun("spark", "dag.spark_task", run_id)
    assert LineageEmitter.from_environment({"type": "noop"}, parent=explicit).parent == explicit


def read_events(folder: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json*"))]


DAG_FILE = textwrap.dedent(
    """
    from airflow.sdk import DAG

    from data_platform.pod import PlatformPodOperator

    with DAG("pod_lineage_e2e", schedule=None, default_args={"owner": "jane", "team": "data-eng", "pipeline": "jira"}) as dag:
        PlatformPodOperator(task_id="sync_issues", profile="small", image="platform-tools",
                            cmds=["python", "-m", "tests.pod.sample_job"], arguments=["lineage", "{{ run_id }}"])

    if __name__ == "__main__":
        print("RUN_STATE " + str(dag.test().state))
    """
)


@pytest.mark.e2e
def test_a_local_pod_runs_events_name_the_airflow_task_run_as_parent(tmp_path):
    airflow_events, job_events = tmp_path / "airflow-events", tmp_path / "job-events"
    airflow_events.mkdir()
    job_events.mkdir()
    client_config = tmp_path / "openlineage.yml"
    client_config.write_text(
        json.dumps({"transport": {"type": "file", "log_file_path": f"{job_events}/event", "append": False}})
    )
    output = run_dag_file(
        DAG_FILE,
        "pod_lineage_e2e",
        tmp_path,
        {
            "PIPELINE_TARGET": "local",
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "pods-e2e",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": f"{airflow_events}/event", "append": False}
            ),
            "OPENLINEAGE_CONFIG": str(client_config),
        },
    )
    assert "RUN_STATE success" in output, output[-5000:]
    assert "lineage_sent=True" in output, output[-5000:]
    task_runs = {
        event["run"]["runId"]
        for event in read_events(airflow_events)
        if event["job"]["name"] == "pod_lineage_e2e.sync_issues"
    }
    (job_event,) = read_events(job_events)
    parent = job_event["run"]["facets"]["parent"]
    assert (parent["job"]["namespace"], parent["job"]["name"]) == ("pods-e2e", "pod_lineage_e2e.sync_issues")
    assert task_runs == {parent["run"]["runId"]}
