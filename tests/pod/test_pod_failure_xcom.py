"""A pod task that writes its XCom file and then fails: the value is pushed on both targets.

On EKS the provider's ``cleanup`` pushes the sidecar's XCom when the base container failed; the
local target does the same with the return file.
"""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException
from pod_testing import make_task, run_context

JOB = ["python", "-m", "tests.pod.sample_job"]


def test_xcom_written_before_a_failure_is_pushed_on_the_local_target():
    task = make_task(cmds=JOB, arguments=["xcom-then-fail"], do_xcom_push=True)
    context = run_context(task)
    with pytest.raises(AirflowException, match="exited with code 1"):
        task.execute(context)
    assert context["ti"].pushed == {"return_value": {"written": 2, "failed_at": "c"}}


def test_multiple_outputs_fan_out_on_failure_as_the_provider_does():
    task = make_task(cmds=JOB, arguments=["xcom-then-fail"], do_xcom_push=True, multiple_outputs=True)
    context = run_context(task)
    with pytest.raises(AirflowException):
        task.execute(context)
    assert context["ti"].pushed == {
        "written": 2,
        "failed_at": "c",
        "return_value": {"written": 2, "failed_at": "c"},
    }


def test_xcom_is_pushed_before_a_skip_exit_code_too():
    task = make_task(cmds=JOB, arguments=["xcom-then-fail"], do_xcom_push=True, skip_on_exit_code=1)
    context = run_context(task)
    with pytest.raises(AirflowSkipException):
        task.execute(context)
    assert context["ti"].pushed["return_value"] == {"written": 2, "failed_at": "c"}


def test_nothing_is_pushed_without_do_xcom_push():
    task = make_task(cmds=JOB, arguments=["xcom-then-fail"])
    context = run_context(task)
    with pytest.raises(AirflowException):
        task.execute(context)
    assert context["ti"].pushed == {}
