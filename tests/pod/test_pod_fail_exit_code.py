"""``fail_on_exit_code``: exit codes that retrying cannot fix fail the task without its retries,
on the local target (the process's exit code) and on EKS (the base container's exit code as the
provider's cleanup sees it)."""

from __future__ import annotations

import pytest
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from kubernetes.client import models as k8s
from pod_testing import make_task, run_context

JOB = ["python", "-m", "tests.pod.sample_job"]


def test_a_listed_exit_code_fails_without_retries_locally():
    task = make_task(cmds=JOB, arguments=["fail", "2"], fail_on_exit_code=2)
    with pytest.raises(AirflowFailException, match="exited with code 2"):
        task.execute(run_context(task))


def test_other_exit_codes_stay_retryable_locally():
    task = make_task(cmds=JOB, arguments=["fail", "1"], fail_on_exit_code=[2])
    with pytest.raises(AirflowException, match="exited with code 1") as raised:
        task.execute(run_context(task))
    assert not isinstance(raised.value, AirflowFailException)


def _terminated_pod(container: str, exit_code: int) -> k8s.V1Pod:
    state = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=exit_code))
    status = k8s.V1ContainerStatus(
        name=container, state=state, image="i", image_id="i", ready=False, restart_count=0
    )
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="p"),
        status=k8s.V1PodStatus(phase="Failed", container_statuses=[status]),
    )


@pytest.mark.parametrize(("exit_code", "expected"), [(2, AirflowFailException), (1, AirflowException)])
def test_the_base_container_exit_code_decides_on_eks(monkeypatch, exit_code, expected):
    task = make_task(cmds=JOB, arguments=["fail", "2"], fail_on_exit_code=2)

    def provider_cleanup(self, pod, remote_pod, xcom_result=None, context=None):
        raise AirflowException("Pod p returned a failure.")

    monkeypatch.setattr(KubernetesPodOperator, "cleanup", provider_cleanup)
    pod = _terminated_pod(task.base_container_name, exit_code)
    with pytest.raises(expected) as raised:
        task.cleanup(pod, pod)
    assert isinstance(raised.value, AirflowFailException) == (expected is AirflowFailException)
