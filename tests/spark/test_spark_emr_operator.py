"""SparkJobOperator on the aws target against moto: the exact StartJobRun request, reattach on retry,
cancel on kill / timeout, failures, deferral, driver logs, cross-account role.

moto finishes a job run at once (SUCCESS); tests that need a running or failed run set moto's
initial job state (``JOB_STATUS``) or flip a run's state in moto's backend from the fake clock's
sleep, i.e. between two GetJobRun polls. The boto3 clients are real (request validation intact).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import timedelta

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowTaskTimeout, TaskDeferralTimeout, TaskDeferred
from spark_testing import ACCOUNT, LOGICAL_DATE, RUN_ID, job_runs, run_context, set_state

DAG_ID = "spark_tests"
TASK_ID = "merge_batch"


def make_task(**overrides):
    from airflow.sdk import DAG

    from data_platform.spark import SparkJobOperator

    kwargs = dict(
        task_id=TASK_ID,
        job="tinyjob",
        version="1",
        entry_point="tinyjob/wordcount.py",
        args=["--words", "a,b,a", "--output", "s3://acme-test-lake/words"],
        conf={"spark.executor.memory": "8g", "spark.jars": "s3://acme-test-artifacts/extra/udfs.jar"},
        tags={"team": "data-eng", "owner": "jane.doe"},
        poll_interval=60,
        retries=2,
        execution_timeout=timedelta(minutes=90),
    )
    kwargs.update(overrides)
    with DAG(DAG_ID, schedule=None):
        return SparkJobOperator(**kwargs)


@pytest.fixture
def initial_state(monkeypatch):
    """Make moto start new job runs in ``state`` instead of finishing them at once."""

    def set_initial(state: str) -> None:
        monkeypatch.setattr("moto.emrserverless.models.JOB_STATUS", state)

    return set_initial


def sha(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def test_start_job_run_request_is_exact(aws_stack):
    task = make_task()
    context = run_context(task)
    result = task.execute(context)

    (run,) = job_runs(aws_stack.application_id)
    ti_key = sha("\x1f".join([DAG_ID, TASK_ID, RUN_ID, "-1"]), 32)
    properties = dict(run.configuration_overrides["applicationConfiguration"][0]["properties"])
    lineage = {
        k: properties.pop(k)
        for k in list(properties)
        if k.startswith("spark.openlineage.parent") or k.startswith("spark.openlineage.rootParent")
    }
    artifact = f"{aws_stack.artifacts_root}/tinyjob/1.0.0"
    assert {
        "name": run.name,
        "clientToken": run.client_token,
        "executionRoleArn": run.execution_role_arn,
        "jobDriver": run.job_driver,
        "monitoringConfiguration": run.configuration_overrides["monitoringConfiguration"],
        "tags": run.tags,
        "executionTimeoutMinutes": run.execution_timeout_minutes,
    } == {
        "name": f"{DAG_ID}.{TASK_ID} @ {RUN_ID}",
        "clientToken": sha(f"{ti_key}/1/0", 64),
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/emr-serverless-job-test",
        "jobDriver": {
            "sparkSubmit": {
                "entryPoint": f"{artifact}/launcher.py",
                "entryPointArguments": [
                    "tinyjob.wordcount",
                    "--words",
                    "a,b,a",
                    "--output",
                    "s3://acme-test-lake/words",
                ],
            }
        },
        "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": f"{aws_stack.log_uri}/"}},
        "tags": {
            "environment": "dev",
            "cost-center": "data-platform",
            "team": "data-eng",
            "owner": "jane.doe",
            "spark-job": "tinyjob",
            "spark-job-version": "1.0.0",
            "airflow:ti": ti_key,
            "airflow:try-group": "1",
            "airflow:dag_id": DAG_ID,
            "airflow:task_id": TASK_ID,
            "airflow:run_id": RUN_ID,
            "airflow:map_index": "-1",
        },
        "executionTimeoutMinutes": 90,
    }
    assert properties == {
        # platform defaults (every target, then aws)
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
        "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
        "spark.sql.parquet.int96RebaseModeInRead": "CORRECTED",
        "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
        "spark.sql.avro.datetimeRebaseModeInRead": "CORRECTED",
        "spark.sql.avro.datetimeRebaseModeInWrite": "CORRECTED",
        "spark.log.level": "INFO",
        "spark.driver.cores": "2",
        "spark.driver.memory": "7g",
        "spark.executor.cores": "4",
        "spark.executor.memory": "8g",  # task override beats the platform's 14g
        "spark.emr-serverless.driver.disk": "20g",
        "spark.emr-serverless.executor.disk": "50g",
        "spark.dynamicAllocation.enabled": "true",
        "spark.dynamicAllocation.minExecutors": "1",
        "spark.dynamicAllocation.maxExecutors": "10",
        "spark.eventLog.enabled": "true",
        # environment dev: OpenLineage listener and transport
        "spark.extraListeners": "io.openlineage.spark.agent.OpenLineageSparkListener",
        "spark.openlineage.transport.type": "http",
        "spark.openlineage.transport.url": "https://lineage.dev.acme.internal",
        "spark.openlineage.transport.endpoint": "/api/v1/lineage",
        "spark.openlineage.namespace": "acme-dev",
        # list key accumulated over environment, profile and task
        "spark.jars": "s3://acme-data-dev-artifacts/spark/_vendor/openlineage-spark_2.12-1.27.0.jar,"
        "/usr/lib/hudi/hudi-spark-bundle.jar,s3://acme-test-artifacts/extra/udfs.jar",
        # profile hudi
        "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
        "spark.sql.extensions": "org.apache.spark.sql.hudi.HoodieSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.hudi.catalog.HoodieCatalog",
        "spark.kryo.registrator": "org.apache.spark.HoodieSparkKryoRegistrar",
        # artifact of the resolved version
        "spark.submit.pyFiles": f"{artifact}/tinyjob.zip",
    }
    assert lineage["spark.openlineage.parentJobName"] == f"{DAG_ID}.{TASK_ID}"
    assert lineage["spark.openlineage.rootParentJobName"] == DAG_ID
    assert set(lineage) == {
        "spark.openlineage.parentJobNamespace",
        "spark.openlineage.parentJobName",
        "spark.openlineage.parentRunId",
        "spark.openlineage.rootParentRunId",
        "spark.openlineage.rootParentJobName",
        "spark.openlineage.rootParentJobNamespace",
    }
    assert (
        result
        == context["ti"].xcoms["spark_job"]
        == {
            "target": "aws",
            "job": "tinyjob",
            "version": "1.0.0",
            "application_id": aws_stack.application_id,
            "job_run_id": run.id,
            "state": "SUCCESS",
            "reattached": False,
            "region": "eu-west-1",
            "log_uri": aws_stack.log_uri,
            "driver_log_uri": f"{aws_stack.log_uri}/applications/{aws_stack.application_id}/jobs/{run.id}/SPARK_DRIVER/",
        }
    )
    assert LOGICAL_DATE  # the OpenLineage run ids above derive from the fake dag run's logical date


def test_final_conf_and_driver_logs_go_to_the_task_log(aws_stack, initial_state, capsys):
    from airflow.providers.amazon.aws.links.emr import EmrServerlessS3LogsLink

    initial_state("RUNNING")
    task = make_task()
    context = run_context(task)

    def finish_with_logs(sleeps: int) -> None:
        (run,) = job_runs(aws_stack.application_id)
        prefix = f"emr-serverless/applications/{aws_stack.application_id}/jobs/{run.id}/SPARK_DRIVER"
        s3 = aws_stack.s3()
        s3.put_object(
            Bucket="acme-test-logs",
            Key=f"{prefix}/stdout.gz",
            Body=gzip.compress(b"rows=3\nhello from the driver\n"),
        )
        s3.put_object(
            Bucket="acme-test-logs",
            Key=f"{prefix}/stderr.gz",
            Body=gzip.compress(b"INFO SparkContext: done\n"),
        )
        set_state(aws_stack.application_id, run.id, "SUCCESS")

    aws_stack.clock.on_sleep.append(finish_with_logs)
    task.execute(context)

    out = capsys.readouterr().out
    xcoms = context["ti"].xcoms
    assert EmrServerlessS3LogsLink().format_link(**xcoms["emr_serverless_s3_logs"]) == (
        f"https://console.aws.amazon.com/s3/buckets/acme-test-logs?region=eu-west-1&prefix=emr-serverless/"
        f"applications/{aws_stack.application_id}/jobs/{job_runs(aws_stack.application_id)[0].id}/"
    )
    assert "emr_serverless_dashboard" not in xcoms  # dashboard links are off in dev
    assert "spark.executor.memory=8g  [task]" in out
    assert "spark.driver.memory=7g  [platform]" in out
    assert "spark.serializer=org.apache.spark.serializer.KryoSerializer  [profile:hudi]" in out
    assert "[driver stdout] hello from the driver" in out
    assert "[driver stderr] INFO SparkContext: done" in out
    assert aws_stack.clock.sleeps == 1


def test_retry_reattaches_to_the_running_run_instead_of_starting_another(aws_stack, initial_state):
    initial_state("RUNNING")
    first = make_task(deferrable=True)
    with pytest.raises(TaskDeferred):  # try 1 starts the run, then its worker dies while deferred
        first.execute(run_context(first, try_number=1))
    (started,) = job_runs(aws_stack.application_id)

    retry = make_task()
    aws_stack.clock.on_sleep.append(lambda _: set_state(aws_stack.application_id, started.id, "SUCCESS"))
    result = retry.execute(run_context(retry, try_number=2))

    assert [r.id for r in job_runs(aws_stack.application_id)] == [started.id]  # no second StartJobRun
    assert result["job_run_id"] == started.id
    assert result["reattached"] is True
    assert result["state"] == "SUCCESS"


def test_retry_after_a_failed_run_starts_a_new_run_and_a_succeeded_run_is_not_redone(
    aws_stack, initial_state
):
    initial_state("FAILED")
    task = make_task()
    with pytest.raises(AirflowException):
        task.execute(run_context(task, try_number=1))

    initial_state("SUCCESS")
    second = make_task().execute(run_context(task, try_number=2))
    third = make_task().execute(run_context(task, try_number=3))

    failed, succeeded = job_runs(aws_stack.application_id)
    assert failed.client_token != succeeded.client_token  # a new start gets the group's next token
    assert second["job_run_id"] == succeeded.id and second["reattached"] is False
    assert third["job_run_id"] == succeeded.id and third["reattached"] is True
    assert len(job_runs(aws_stack.application_id)) == 2


def test_a_cleared_task_runs_again(aws_stack):
    task = make_task()
    first = task.execute(run_context(task, try_number=1))
    # clearing after try 1 gives max_tries = try_number + retries: try 2 opens a new try group
    again = make_task().execute(run_context(task, try_number=2, max_tries=1 + task.retries))

    assert again["job_run_id"] != first["job_run_id"]
    assert again["reattached"] is False
    assert [r.tags["airflow:try-group"] for r in job_runs(aws_stack.application_id)] == ["1", "2"]


def test_failed_run_raises_with_state_details(aws_stack, initial_state):
    initial_state("RUNNING")
    task = make_task()
    aws_stack.clock.on_sleep.append(
        lambda _: set_state(
            aws_stack.application_id,
            job_runs(aws_stack.application_id)[0].id,
            "FAILED",
            "Job failed, please check complete logs in configured logging destination. ExitCode: 1.",
        )
    )
    with pytest.raises(AirflowException) as failure:
        task.execute(run_context(task))

    (run,) = job_runs(aws_stack.application_id)
    message = str(failure.value)
    assert f"run {run.id}" in message
    assert "ended FAILED: Job failed, please check complete logs" in message
    assert f"jobs/{run.id}/SPARK_DRIVER/" in message


def test_kill_cancels_the_run(aws_stack, initial_state):
    initial_state("RUNNING")
    task = make_task()
    aws_stack.clock.on_sleep.append(lambda _: task.on_kill())  # SIGTERM arrives while the task polls

    with pytest.raises(AirflowException, match="ended CANCELLED"):
        task.execute(run_context(task))
    (run,) = job_runs(aws_stack.application_id)
    assert run.state == "CANCELLED"


def test_execution_timeout_cancels_the_run(aws_stack, initial_state):
    initial_state("RUNNING")
    task = make_task(execution_timeout=timedelta(minutes=10), poll_interval=60)

    with pytest.raises(AirflowTaskTimeout, match="exceeded execution_timeout"):
        task.execute(run_context(task))
    (run,) = job_runs(aws_stack.application_id)
    assert run.state == "CANCELLED"
    assert run.execution_timeout_minutes == 10  # the service would stop it too
    # the try gives up 30 s (5 %) before Airflow's own timeout: ten polls 60 s apart fit before it
    assert aws_stack.clock.sleeps == 9


def test_deferrable_waits_on_the_trigger_until_the_deadline(aws_stack, initial_state):
    from airflow.providers.amazon.aws.triggers.emr import EmrServerlessStartJobTrigger

    initial_state("RUNNING")
    task = make_task(deferrable=True, execution_timeout=timedelta(minutes=30), poll_interval=30)
    context = run_context(task)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context)

    defer = deferred.value
    (run,) = job_runs(aws_stack.application_id)
    assert isinstance(defer.trigger, EmrServerlessStartJobTrigger)
    classpath, kwargs = defer.trigger.serialize()
    assert classpath == "airflow.providers.amazon.aws.triggers.emr.EmrServerlessStartJobTrigger"
    assert kwargs["job_id"] == run.id and kwargs["waiter_delay"] == 30 and kwargs["cancel_on_kill"] is True
    # it polls up to the deadline, one minute before Airflow's own execution_timeout
    polled = kwargs["waiter_delay"] * kwargs["waiter_max_attempts"]
    assert 29 * 60 <= polled < 30 * 60
    assert kwargs["aws_conn_id"] == "aws_default" and kwargs["region_name"] == "eu-west-1"
    assert timedelta(minutes=31) <= defer.timeout < timedelta(minutes=32)  # deadline + 2 min margin
    assert context["ti"].xcoms["spark_job"]["job_run_id"] == run.id  # visible while deferred

    set_state(aws_stack.application_id, run.id, "SUCCESS")
    done = make_task(deferrable=True).execute_complete(
        context, event={"status": "success", "job_details": {"job_id": run.id}}, **defer.kwargs
    )
    assert done["state"] == "SUCCESS" and done["job_run_id"] == run.id


def test_trigger_that_gave_up_waits_again_before_the_deadline_and_cancels_at_it(aws_stack, initial_state):
    initial_state("RUNNING")
    task = make_task(deferrable=True)
    context = run_context(task)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context)
    event = {"status": "failure", "message": "Serverless Job failed: Waiter error: max attempts reached"}

    with pytest.raises(TaskDeferred) as again:  # e.g. the trigger hit an error: keep waiting
        make_task(deferrable=True).execute_complete(context, event=event, **deferred.value.kwargs)
    assert again.value.kwargs == deferred.value.kwargs

    aws_stack.clock.now += timedelta(minutes=90)  # now the task's deadline has passed
    with pytest.raises(AirflowTaskTimeout, match="exceeded execution_timeout"):
        make_task(deferrable=True).execute_complete(context, event=event, **deferred.value.kwargs)
    assert job_runs(aws_stack.application_id)[0].state == "CANCELLED"


def test_trigger_timeout_cancels_the_run_before_failing(aws_stack, initial_state):
    initial_state("RUNNING")
    task = make_task(deferrable=True)
    context = run_context(task)
    with pytest.raises(TaskDeferred):
        task.execute(context)

    # the scheduler's trigger timeout resumes the task as "__fail__" (no operator kwargs left)
    with pytest.raises(TaskDeferralTimeout):
        make_task(deferrable=True).resume_execution("__fail__", {"error": "Trigger timeout"}, context)
    assert job_runs(aws_stack.application_id)[0].state == "CANCELLED"


def test_cross_account_role_is_assumed_for_the_emr_calls(
    aws_stack, spark_include, initial_state, monkeypatch
):
    from moto.sts.models import sts_backends

    initial_state("RUNNING")
    role = f"arn:aws:iam::{ACCOUNT}:role/emr-serverless-operator"
    connection = {"conn_type": "aws", "extra": {"region_name": "eu-west-1", "role_arn": role}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_EMR_OTHER_ACCOUNT", json.dumps(connection))
    spark_include.edit(
        "spark/environments.yaml", lambda envs: envs["dev"]["emr"].update(aws_conn_id="aws_emr_other_account")
    )
    task = make_task(deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(run_context(task))

    assumed = [r.arn for r in sts_backends[ACCOUNT]["global"].assumed_roles]
    assert any(
        arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/emr-serverless-operator/") for arn in assumed
    )
    trigger = deferred.value.trigger
    assert trigger.serialize()[1]["aws_conn_id"] == "aws_emr_other_account"
    assert trigger.hook().conn_config.role_arn == role


def test_a_version_that_was_never_deployed_is_a_clear_error(aws_stack):
    from data_platform.spark.artifacts import ArtifactError

    task = make_task(version="2")
    with pytest.raises(ArtifactError, match="No deployed version of Spark job 'tinyjob' matches version='2'"):
        task.execute(run_context(task))
    assert job_runs(aws_stack.application_id) == []


def test_a_run_still_cancelling_is_waited_for_before_a_new_one_starts(aws_stack, initial_state):
    initial_state("RUNNING")
    first = make_task(deferrable=True)
    with pytest.raises(TaskDeferred):
        first.execute(run_context(first, try_number=1))
    (cancelling,) = job_runs(aws_stack.application_id)
    set_state(aws_stack.application_id, cancelling.id, "CANCELLING")  # try 1 was killed, cancel under way

    initial_state("SUCCESS")
    starts_seen = []

    def finish_cancelling(_: int) -> None:
        starts_seen.append(len(job_runs(aws_stack.application_id)))
        set_state(aws_stack.application_id, cancelling.id, "CANCELLED")

    aws_stack.clock.on_sleep.append(finish_cancelling)
    result = make_task().execute(run_context(first, try_number=2))

    assert starts_seen == [1]  # while it was cancelling, nothing new was started
    assert result["job_run_id"] != cancelling.id and result["state"] == "SUCCESS"


def test_a_stopped_application_is_started_first(aws_stack):
    import boto3

    emr = boto3.client("emr-serverless", region_name="eu-west-1")
    emr.stop_application(applicationId=aws_stack.application_id)
    task = make_task()
    task.execute(run_context(task))
    assert emr.get_application(applicationId=aws_stack.application_id)["application"]["state"] == "STARTED"


def test_dashboard_link_is_opt_in(aws_stack, spark_include):
    spark_include.edit(
        "spark/environments.yaml", lambda envs: envs["dev"]["emr"].update(dashboard_links=True)
    )
    task = make_task()
    context = run_context(task)
    result = task.execute(context)

    # the UI asks GetDashboardForJobRun for the one-time URL when the link is opened
    assert context["ti"].xcoms["emr_serverless_dashboard"] == {
        "region_name": "eu-west-1",
        "aws_domain": "aws.amazon.com",
        "conn_id": "aws_default",
        "application_id": aws_stack.application_id,
        "job_run_id": result["job_run_id"],
    }
