"""Run-time validation: a bad field fails execute() with a message naming it, before anything runs."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from pod_testing import make_task, run_context


@pytest.fixture
def marker(tmp_path):
    """A file the task's command would create: it must not exist after a validation failure."""
    return tmp_path / "ran"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"profile": "smal"}, "unknown pod profile 'smal'"),
        ({"profile": "base"}, "'base' is abstract"),
        ({"image": "platfrom-tools"}, "Unknown image 'platfrom-tools'"),
        (
            {"container_resources": {"limits": {"memory": "lots"}}},
            "resources.limits.memory='lots' is not a Kubernetes quantity",
        ),
        (
            {"container_resources": {"requests": {"memory": "2Gi"}}},
            "resources.requests.memory=2Gi exceeds resources.limits.memory=1Gi",
        ),
        ({"container_resources": {"request": {"cpu": "1"}}}, "resources has unknown sections ['request']"),
        ({"secrets": ["jria"]}, "No secret named 'jria'"),
        ({"inputs": ["landing/dms"]}, "inputs[0]='landing/dms' is not a dataset reference"),
        (
            {"outputs": ["lake:ok", "warehouse:orders"]},
            "outputs[1]='warehouse:orders' is not a dataset reference",
        ),
        ({"labels": {"team": "other"}}, "labels: team are set by the platform"),
        ({"env_vars": {"JIRA_CONN": "x"}, "secrets": ["jira"]}, "clash"),
    ],
)
def test_bad_fields_fail_at_execute_naming_the_field(marker, overrides, message, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_JIRA_API", '{"conn_type": "http", "host": "jira.example.com"}')
    task = make_task(cmds=["python", "-c", f"open({str(marker)!r}, 'w').close()"], **overrides)
    with pytest.raises(AirflowFailException) as err:
        task.execute(run_context(task))
    assert message in str(err.value)
    assert str(err.value).startswith("PlatformPodOperator 'discover_files': ")
    assert not marker.exists()


def test_constructing_a_task_reads_no_configuration(include_copy):
    # DAG parsing stays cheap: unknown names are only noticed when the task runs.
    (include_copy / "pod" / "images.yaml").unlink()
    task = make_task(profile="no-such-profile", image="no-such-image", secrets=["no-such-secret"])
    assert (task.profile_name, task.image_name, task.secret_names) == (
        "no-such-profile",
        "no-such-image",
        ("no-such-secret",),
    )


def test_a_secret_without_a_connection_fails_locally_with_the_fix(marker):
    task = make_task(cmds=["python", "-c", f"open({str(marker)!r}, 'w').close()"], secrets=["datadog"])
    with pytest.raises(
        AirflowFailException, match="'datadog' resolves to connection 'datadog_api'.*AIRFLOW_CONN_DATADOG_API"
    ):
        task.execute(run_context(task))
    assert not marker.exists()


def test_value_from_env_vars_have_no_local_equivalent():
    from kubernetes.client import models as k8s

    source = k8s.V1EnvVarSource(field_ref=k8s.V1ObjectFieldSelector(field_path="spec.nodeName"))
    task = make_task(cmds=["true"], env_vars=[k8s.V1EnvVar(name="NODE_NAME", value_from=source)])
    with pytest.raises(AirflowFailException, match="env_vars: NODE_NAME uses value_from"):
        task.execute(run_context(task))


def test_local_runs_need_a_command():
    task = make_task()
    with pytest.raises(AirflowFailException, match="cmds/arguments are empty"):
        task.execute(run_context(task))
