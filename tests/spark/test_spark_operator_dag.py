"""SparkJobOperator in a DAG: parse-time checks, templating, dynamic mapping, alert policy, cheap import."""

from __future__ import annotations

import subprocess
import sys

import pytest
from spark_testing import run_context

from data_platform.config import ConfigError
from data_platform.paths import REPO_ROOT


def in_dag(build):
    from airflow.sdk import DAG

    with DAG("spark_dag_tests", schedule=None) as dag:
        build()
    return dag


def test_importing_the_operator_does_not_load_pyspark():
    # boto3 comes with the Amazon provider's operator base (loaded on MWAA by its logging anyway)
    code = (
        "import sys; import data_platform.spark; "
        "print(sorted(m for m in ('pyspark', 'moto', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={"PYTHONPATH": f"{REPO_ROOT / 'plugins'}:{REPO_ROOT}", "PATH": ""},
    )
    assert result.stdout.strip() == "[]"


def test_bad_definitions_fail_at_dag_parse(spark_include):
    from data_platform.spark import SparkJobOperator

    with pytest.raises(ConfigError, match="Spark job 'nope' is not defined"):
        in_dag(lambda: SparkJobOperator(task_id="t", job="nope", version="1"))
    with pytest.raises(ValueError, match="Version pin 'latest' is not valid"):
        in_dag(lambda: SparkJobOperator(task_id="t", job="tinyjob", version="latest"))
    with pytest.raises(ConfigError, match="Entry point 'tinyjob.other' is not declared"):
        in_dag(
            lambda: SparkJobOperator(task_id="t", job="tinyjob", version="1", entry_point="tinyjob/other.py")
        )
    with pytest.raises(ConfigError, match="Spark job 'nope' is not defined"):
        in_dag(lambda: SparkJobOperator.partial(task_id="t", job="nope", version="1").expand(args=[["a"]]))


def test_args_conf_and_tags_are_templated(spark_include):
    from data_platform.spark import SparkJobOperator

    tasks = []
    in_dag(
        lambda: tasks.append(
            SparkJobOperator(
                task_id="t",
                job="tinyjob",
                version="{{ params.v }}",
                args=["--date", "{{ ds }}"],
                conf={"spark.app.date": "{{ ds }}"},
                tags={"run": "{{ ds }}"},
                params={"v": "1.0"},
            )
        )
    )
    (task,) = tasks
    context = {**run_context(task), "params": {"v": "1.0"}}
    task.render_template_fields(context)
    assert task.args == ["--date", "2026-11-23"]
    assert task.conf == {"spark.app.date": "2026-11-23"}
    assert task.tags == {"run": "2026-11-23"} and task.version == "1.0"


def test_args_from_an_upstream_task_make_the_job_depend_on_it(spark_include):
    from airflow.sdk import XComArg, task

    from data_platform.spark import SparkJobOperator

    @task(multiple_outputs=True)
    def job_arguments() -> dict:
        return {"job_args": ["--date", "2026-11-23"]}

    tasks = []

    def build():
        arguments = job_arguments()
        tasks.append(SparkJobOperator(task_id="t", job="tinyjob", version="1", args=arguments["job_args"]))

    in_dag(build)
    (job,) = tasks
    assert job.upstream_task_ids == {"job_arguments"}
    assert isinstance(job.args, XComArg)  # resolved to the task's list when the job's fields render


def test_alert_policy_callbacks_join_the_tasks_own(spark_include):
    from data_platform.alerting import ALERT_POLICY_CRITICAL, AlertEvent, PolicyNotifier
    from data_platform.spark import SparkJobOperator

    def own_callback(context):
        return None

    tasks = []
    in_dag(
        lambda: tasks.append(
            SparkJobOperator(
                task_id="t",
                job="tinyjob",
                version="1",
                alert_policy=ALERT_POLICY_CRITICAL,
                on_failure_callback=own_callback,
            )
        )
    )
    (task,) = tasks
    assert task.on_failure_callback[0] is own_callback
    assert [(n.policy.name, n.event) for n in task.on_failure_callback[1:]] == [
        ("critical", AlertEvent.FAILURE)
    ]
    assert isinstance(task.on_retry_callback[0], PolicyNotifier)


def test_partial_expand_maps_one_job_run_per_args_list(spark_include):
    from data_platform.alerting import ALERT_POLICY_CRITICAL
    from data_platform.spark import SparkJobOperator

    batches = [["--tables", "sales.orders,sales.items"], ["--tables", "crm.customers"]]
    mapped = []
    in_dag(
        lambda: mapped.append(
            SparkJobOperator.partial(
                task_id="merge_batch", job="tinyjob", version="1.0", alert_policy=ALERT_POLICY_CRITICAL
            ).expand(args=batches)
        )
    )
    (task,) = mapped
    assert task.partial_kwargs["on_failure_callback"]  # the scheduler knows the task has failure callbacks
    unmapped = task.unmap({"args": batches[1]})
    assert isinstance(unmapped, SparkJobOperator)
    assert unmapped.args == ["--tables", "crm.customers"]
    assert unmapped.job == "tinyjob" and unmapped.version == "1.0"
    assert len(unmapped.on_failure_callback) == 1  # the policy's notifier, once


def test_serialized_dag_keeps_links_and_the_mapped_tasks_callbacks(spark_include):
    from airflow.serialization.serialized_objects import DagSerialization

    from data_platform.alerting import ALERT_POLICY_CRITICAL
    from data_platform.spark import SparkJobOperator

    def build():
        SparkJobOperator(task_id="single", job="tinyjob", version="1", alert_policy=ALERT_POLICY_CRITICAL)
        SparkJobOperator.partial(
            task_id="mapped", job="tinyjob", version="1", alert_policy=ALERT_POLICY_CRITICAL
        ).expand(args=[["1"], ["2"]])

    dag = DagSerialization.from_dict(DagSerialization.to_dict(in_dag(build)))
    single, mapped = dag.get_task("single"), dag.get_task("mapped")
    assert [link.name for link in single.operator_extra_links] == ["S3 Logs", "EMR Serverless Dashboard"]
    assert single.has_on_failure_callback and single.has_on_retry_callback
    assert mapped.has_on_failure_callback and mapped.has_on_retry_callback
