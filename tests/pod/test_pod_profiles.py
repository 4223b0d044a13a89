"""Profiles: the committed files, the pods they produce (built without a cluster), and validation."""

from __future__ import annotations

import textwrap

import pytest
from pod_testing import RUN_ID, make_task, run_context

from data_platform.config import ConfigError
from data_platform.pod.images import load_images
from data_platform.pod.profiles import deep_merge, get_profile, load_profiles

REQUIRED_PROFILES = {"base", "small", "spark-driver", "memory-heavy"}

EXPECTED_PODS = {
    "small": {
        "service_account": "pod-tasks",
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
        "node_selector": {"kubernetes.io/os": "linux", "data-platform/node-pool": "general"},
        "tolerations": [],
        "required_affinity": None,
        "preferred_affinity": ("eks.amazonaws.com/capacityType", ["SPOT"]),
        "deferrable": False,
    },
    "spark-driver": {
        "service_account": "spark-driver",
        "requests": {"cpu": "1", "memory": "4Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
        "node_selector": {"kubernetes.io/os": "linux", "data-platform/node-pool": "spark"},
        "tolerations": [("dedicated", "spark", "NoSchedule")],
        "required_affinity": ("eks.amazonaws.com/capacityType", ["ON_DEMAND"]),
        "preferred_affinity": None,
        "deferrable": True,
    },
    "memory-heavy": {
        "service_account": "pod-tasks",
        "requests": {"cpu": "2", "memory": "16Gi", "ephemeral-storage": "20Gi"},
        "limits": {"cpu": "4", "memory": "16Gi", "ephemeral-storage": "40Gi"},
        "node_selector": {"kubernetes.io/os": "linux", "data-platform/node-pool": "memory-optimized"},
        "tolerations": [("dedicated", "memory-optimized", "NoSchedule")],
        "required_affinity": ("karpenter.k8s.aws/instance-category", ["r"]),
        "preferred_affinity": ("eks.amazonaws.com/capacityType", ["SPOT"]),
        "deferrable": True,
    },
}


def test_the_committed_profiles_are_valid_and_complete():
    profiles = load_profiles()
    assert REQUIRED_PROFILES <= set(profiles)
    assert profiles["base"].abstract
    usable = {name for name, profile in profiles.items() if not profile.abstract}
    assert set(EXPECTED_PODS) <= usable


@pytest.mark.parametrize("profile_name", sorted(EXPECTED_PODS))
def test_each_profile_builds_the_expected_pod(profile_name):
    expected = EXPECTED_PODS[profile_name]
    task = make_task(profile=profile_name, image="spark-job", cmds=["python", "-m", "spark_jobs.cdc.plan"])
    pod = task.build_pod_request_obj(run_context(task), dry_run=True)

    assert pod.metadata.namespace == "data-pipelines"
    assert pod.spec.service_account_name == expected["service_account"]
    container = pod.spec.containers[0]
    assert container.image == load_images()["spark-job"].reference
    assert container.image.endswith(":" + load_images()["spark-job"].tag)
    assert container.command == ["python", "-m", "spark_jobs.cdc.plan"]
    assert container.resources.requests == expected["requests"]
    assert container.resources.limits == expected["limits"]
    assert pod.spec.node_selector == expected["node_selector"]
    assert [(t.key, t.value, t.effect) for t in pod.spec.tolerations] == expected["tolerations"]

    node_affinity = pod.spec.affinity.node_affinity
    required = node_affinity.required_during_scheduling_ignored_during_execution
    preferred = node_affinity.preferred_during_scheduling_ignored_during_execution
    if expected["required_affinity"]:
        expression = required.node_selector_terms[0].match_expressions[0]
        assert (expression.key, expression.values) == expected["required_affinity"]
    else:
        assert required is None
    if expected["preferred_affinity"]:
        expression = preferred[0].preference.match_expressions[0]
        assert (expression.key, expression.values) == expected["preferred_affinity"]
    else:
        assert preferred is None

    labels = pod.metadata.labels
    assert labels["team"] == "data-eng"
    assert labels["pipeline"] == "cdc"
    assert labels["owner"] == "jane.doe"
    assert labels["dag_id"] == "cdc_sales"
    assert labels["task_id"] == "discover_files"
    assert labels["profile"] == profile_name
    assert labels["app.kubernetes.io/part-of"] == "data-platform"
    assert labels["run_id"] != RUN_ID and len(labels["run_id"]) <= 63  # sanitised by the provider
    assert pod.metadata.name.startswith("cdc-sales-discover-files-")
    assert pod.spec.restart_policy == "Never"
    assert task.deferrable is expected["deferrable"]
    assert task.startup_timeout_seconds == get_profile(profile_name).startup_timeout_seconds
    assert task.on_finish_action.value == "delete_succeeded_pod"
    assert task.on_kill_action.value == "delete_pod"


def test_task_overrides_merge_over_the_profile():
    task = make_task(
        container_resources={"limits": {"memory": "2Gi"}},
        labels={"data-platform/source": "dms"},
        annotations={"note": "hello"},
    )
    pod = task.build_pod_request_obj(None, dry_run=True)
    assert pod.spec.containers[0].resources.limits == {"cpu": "1", "memory": "2Gi"}
    assert pod.spec.containers[0].resources.requests == {"cpu": "250m", "memory": "512Mi"}
    assert pod.metadata.labels["data-platform/source"] == "dms"
    assert pod.metadata.annotations["note"] == "hello"
    assert pod.metadata.annotations["data-platform/owner-doc"].startswith("https://")


def test_deep_merge_merges_mappings_replaces_lists_and_null_removes():
    base = {"a": {"x": 1, "y": 2}, "l": [1, 2], "keep": True}
    assert deep_merge(base, {"a": {"y": 3, "x": None}, "l": [9]}) == {"a": {"y": 3}, "l": [9], "keep": True}


def write_profile(include, name: str, text: str) -> None:
    (include / "pod" / "profiles" / f"{name}.yaml").write_text(textwrap.dedent(text))


def test_extends_chains_resolve_and_do_not_inherit_abstract_or_description(include_copy):
    write_profile(include_copy, "tiny", "extends: small\nresources: {limits: {memory: 768Mi}}\n")
    profile = get_profile("tiny")
    assert profile.resources == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "1", "memory": "768Mi"},
    }
    assert profile.description == "" and not profile.abstract
    assert profile.namespace == "data-pipelines"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "extends: base\nresources: {limits: {memory: 2GB}}\n",
            "resources.limits.memory='2GB' is not a Kubernetes quantity",
        ),
        (
            "extends: base\nresources: {requests: {cpu: '4'}}\n",
            "resources.requests.cpu=4 exceeds resources.limits.cpu=1",
        ),
        ("extends: base\nnamespace: Data_Pipelines\n", "namespace: 'Data_Pipelines' is not a DNS-1123 label"),
        (
            "extends: base\non_kill_action: explode\n",
            "on_kill_action: Input should be 'delete_pod' or 'keep_pod'",
        ),
        (
            "extends: base\nstartup_timeout_seconds: 0\n",
            "startup_timeout_seconds: Input should be greater than 0",
        ),
        ("extends: base\ncluster: {mode: kubeconfig}\n", "mode 'kubeconfig' needs config_file"),
        (
            "extends: base\ncluster: {mode: in_cluster, kubernetes_conn_id: k8s}\n",
            "kubernetes_conn_id is only used with mode 'connection'",
        ),
        ("extends: base\nnode_selctor: {a: b}\n", "node_selctor: Extra inputs are not permitted"),
        (
            "extends: base\naffinity: {nodeAffinity: {requiredDuringScheduling: {}}}\n",
            "affinity has keys or values the Kubernetes API does not accept",
        ),
        (
            "extends: base\ntolerations: [{key: a, efect: NoSchedule}]\n",
            "tolerations have keys the Kubernetes API",
        ),
        (
            "extends: base\nlabels: {team: 'not valid!'}\n",
            "label team='not valid!' is not a valid Kubernetes label value",
        ),
        ("extends: nowhere\n", "profile 'broken' extends 'nowhere'"),
    ],
)
def test_invalid_profiles_name_the_field(include_copy, yaml_text, message):
    write_profile(include_copy, "broken", yaml_text)
    with pytest.raises(ConfigError) as err:
        get_profile("broken")
    assert message in str(err.value)
    assert "broken" in str(err.value)


def test_extends_cycles_are_reported(include_copy):
    write_profile(include_copy, "loop-a", "extends: loop-b\n")
    write_profile(include_copy, "loop-b", "extends: loop-a\n")
    with pytest.raises(ConfigError, match="cycle: loop-a -> loop-b -> loop-a"):
        get_profile("loop-a")


def test_abstract_profiles_cannot_be_used_by_tasks():
    with pytest.raises(ConfigError, match="'base' is abstract.*memory-heavy, small, spark-driver"):
        get_profile("base")


def test_kubeconfig_paths_are_relative_to_include(include_copy):
    write_profile(
        include_copy,
        "kubeconfig",
        "extends: small\ncluster: {mode: kubeconfig, config_file: pod/kube.yaml, cluster_context: aws}\n",
    )
    kwargs = get_profile("kubeconfig").cluster.operator_kwargs()
    assert kwargs == {
        "kubernetes_conn_id": None,
        "in_cluster": False,
        "config_file": str(include_copy / "pod" / "kube.yaml"),
        "cluster_context": "aws",
    }
