"""Target aws (pod spec, secrets as Kubernetes Secret refs, cluster connection) and lineage on both targets."""

from __future__ import annotations

import json

import pytest
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from pod_testing import make_task, run_context

from data_platform.pod.lineage import check_reference

REDSHIFT = {
    "conn_type": "redshift",
    "host": "analytics.abc123.eu-west-1.redshift.amazonaws.com",
    "port": 5439,
    "schema": "dev",
    "login": "loader",
    "password": "redshift-pass",
}


def test_aws_pods_reference_kubernetes_secrets_by_name_only(aws_target):
    # No Airflow connection exists: on aws the values never pass through Airflow.
    task = make_task(cmds=["python", "-m", "spark_jobs.jira.ingest"], secrets=["jira", "lineage"])
    pod = task.build_pod_request_obj(run_context(task), dry_run=True)
    env = {var.name: var.value_from.secret_key_ref for var in pod.spec.containers[0].env if var.value_from}
    assert {name: (ref.name, ref.key) for name, ref in env.items()} == {
        "JIRA_CONN": ("jira-api", "conn"),
        "LINEAGE_CONN": ("lineage-api", "conn"),
    }


def test_aws_uses_the_profile_cluster_connection(aws_target):
    task = make_task(profile="spark-driver", cmds=["true"])
    task.build_pod_request_obj(None, dry_run=True)
    assert (task.kubernetes_conn_id, task.in_cluster, task.config_file) == ("eks_data_platform", None, None)
    assert task.hook.conn_id == "eks_data_platform"
    assert task.deferrable is True


def test_in_cluster_profiles_drop_the_connection(include_copy, aws_target):
    (include_copy / "pod" / "profiles" / "in-cluster.yaml").write_text(
        "extends: small\ncluster: {mode: in_cluster}\n"
    )
    task = make_task(profile="in-cluster", cmds=["true"])
    task.build_pod_request_obj(None, dry_run=True)
    assert (task.kubernetes_conn_id, task.in_cluster) == (None, True)


def test_aws_xcom_uses_the_provider_sidecar_path(aws_target, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_EKS_DATA_PLATFORM", json.dumps({"conn_type": "kubernetes"}))
    task = make_task(
        cmds=["python", "-m", "spark_jobs.cdc.plan"], do_xcom_push=True, env_vars={"MODE": "plan"}
    )
    pod = task.build_pod_request_obj(run_context(task), dry_run=True)
    env = {
        var.name: var.value for var in pod.spec.containers[0].env if not var.name.startswith("OPENLINEAGE")
    }
    assert env == {"MODE": "plan", "POD_XCOM_RETURN_FILE": "/airflow/xcom/return.json"}
    assert [c.name for c in pod.spec.containers] == ["base", "airflow-xcom-sidecar"]


def test_aws_env_vars_may_read_from_the_pod(aws_target):
    from kubernetes.client import models as k8s

    node = k8s.V1EnvVar(
        name="NODE_NAME",
        value_from=k8s.V1EnvVarSource(field_ref=k8s.V1ObjectFieldSelector(field_path="spec.nodeName")),
    )
    task = make_task(cmds=["true"], env_vars=[node])
    pod = task.build_pod_request_obj(None, dry_run=True)
    assert pod.spec.containers[0].env[0].value_from.field_ref.field_path == "spec.nodeName"


def test_aws_execute_hands_the_prepared_pod_to_the_provider(aws_target, monkeypatch):
    seen = {}

    def provider_execute(self, context):
        seen.update(image=self.image, namespace=self.namespace, labels=dict(self.labels))
        return "provider ran"

    monkeypatch.setattr(KubernetesPodOperator, "execute", provider_execute)
    task = make_task(cmds=["python", "-m", "spark_jobs.cdc.discover"])
    assert task.execute(run_context(task)) == "provider ran"
    assert seen["image"].endswith("/data-platform/platform-tools:2026.11.16")
    assert seen["namespace"] == "data-pipelines"
    assert seen["labels"]["team"] == "data-eng"


# -- lineage ----------------------------------------------------------------------------------------

INPUTS = ["lake:landing/dms/sales", "s3://acme-raw/jira/issues/"]
OUTPUTS = ["warehouse:analytics.orders", "postgres://db.internal:5433/shop.public.customers"]


def datasets(lineage) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    return [(d.namespace, d.name) for d in lineage.inputs], [(d.namespace, d.name) for d in lineage.outputs]


def test_lineage_on_the_local_target(local_dir, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE",
        json.dumps({"conn_type": "postgres", "host": "localhost", "port": 5544, "schema": "warehouse"}),
    )
    task = make_task(cmds=["true"], inputs=INPUTS, outputs=OUTPUTS)
    inputs, outputs = datasets(task.get_openlineage_facets_on_start())
    assert inputs == [
        ("file", f"{local_dir.resolve()}/lake/landing/dms/sales"),
        ("s3://acme-raw", "jira/issues"),  # folders: no trailing slash
    ]
    assert outputs == [
        ("postgres://localhost:5544", "warehouse.analytics.orders"),
        ("postgres://db.internal:5433", "shop.public.customers"),
    ]


def test_lineage_on_the_aws_target(aws_target, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_REDSHIFT_DEFAULT", json.dumps(REDSHIFT))
    task = make_task(cmds=["true"], inputs=INPUTS, outputs=OUTPUTS[:1])
    lineage = task.get_openlineage_facets_on_complete(task_instance=None)
    inputs, outputs = datasets(lineage)
    assert inputs == [
        ("s3://acme-data-dev-lake", "lake/landing/dms/sales"),
        ("s3://acme-raw", "jira/issues"),  # folders: no trailing slash
    ]
    assert outputs == [("redshift://analytics.eu-west-1:5439", "dev.analytics.orders")]
    assert type(lineage).__name__ == "OperatorLineage"


@pytest.mark.parametrize(
    "ref",
    [
        "lake:cdc/sales",
        "warehouse:analytics.orders",
        "s3://b/k",
        "file:///tmp/x",
        "redshift://c.eu-west-1:5439/dev.a.b",
    ],
)
def test_accepted_dataset_references(ref):
    check_reference("inputs[0]", ref)


@pytest.mark.parametrize(
    "ref", ["", "lake:", "s3://bucket", "file://relative", "postgres://h:1/orders", "ftp://x/y"]
)
def test_rejected_dataset_references(ref):
    with pytest.raises(ValueError, match=r"inputs\[0\]=.* is not a dataset reference"):
        check_reference("inputs[0]", ref)
