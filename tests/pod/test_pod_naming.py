from __future__ import annotations

import re

import pytest
from pod_testing import make_task

from data_platform.pod.naming import (
    DNS1123_LABEL,
    LABEL_VALUE,
    NamingRuleError,
    check_identifier,
    check_owner,
    check_task_id,
    pod_base_name,
    safe_label_value,
)


@pytest.mark.parametrize("task_id", ["discover_files", "plan_batches_2", "ingest.fetch_issues", "a"])
def test_snake_case_task_ids_pass(task_id):
    check_task_id(task_id)


@pytest.mark.parametrize(
    ("task_id", "suggestion"),
    [
        ("DiscoverFiles", "discover_files"),
        ("discover-files", "discover_files"),
        ("ingest.FetchIssues", "ingest.fetch_issues"),
        ("2nd_pass", "task_2nd_pass"),
    ],
)
def test_bad_task_ids_are_refused_with_a_suggestion(task_id, suggestion):
    with pytest.raises(NamingRuleError, match="snake_case") as err:
        check_task_id(task_id)
    assert f"e.g. to {suggestion!r}" in str(err.value)


def test_task_ids_longer_than_a_label_value_are_refused():
    with pytest.raises(NamingRuleError, match="at most 63 characters"):
        check_task_id("x" * 64)


def test_team_and_pipeline_must_be_lowercase_names():
    assert check_identifier("team", "data-eng", how_to_set="-") == "data-eng"
    with pytest.raises(NamingRuleError, match=r"team='Data Eng'.*e\.g\. 'data-eng'"):
        check_identifier("team", "Data Eng", how_to_set="-")
    with pytest.raises(NamingRuleError, match="'pipeline' is required for pod tasks: set it"):
        check_identifier("pipeline", None, how_to_set="set it")


def test_owner_may_not_be_the_airflow_placeholder():
    assert check_owner("jane.doe", "airflow") == "jane.doe"
    with pytest.raises(NamingRuleError, match="owner is required"):
        check_owner("airflow", "airflow")


@pytest.mark.parametrize(
    ("dag_id", "task_id"),
    [
        ("cdc_sales", "discover_files"),
        ("CDC.Sales--Orders", "group.Plan_Batches"),
        ("a" * 80, "discover_files"),
        ("jira_ingestion_for_the_customer_support_project_with_a_long_name", "fetch_issues_incrementally"),
    ],
)
def test_pod_names_are_dns_labels_within_63_characters_with_the_provider_suffix(dag_id, task_id):
    from airflow.providers.cncf.kubernetes.kubernetes_helper_functions import add_unique_suffix

    base = pod_base_name(dag_id, task_id)
    assert len(base) <= 54 and DNS1123_LABEL.fullmatch(base)
    full = add_unique_suffix(name=base)
    assert len(full) <= 63 and DNS1123_LABEL.fullmatch(full)
    assert full.startswith(base + "-")


def test_long_pod_names_keep_tasks_apart():
    dag_id = "jira_ingestion_for_the_customer_support_project_with_a_long_name"
    first, second = pod_base_name(dag_id, "fetch_issues"), pod_base_name(dag_id, "fetch_comments")
    assert first != second
    assert pod_base_name("cdc_sales", "discover_files") == "cdc-sales-discover-files"


@pytest.mark.parametrize(
    "value", ["manual__2026-11-23T10:00:00+00:00", "jane@acme.com", "x" * 80, "ok_value"]
)
def test_label_values_are_sanitised(value):
    label = safe_label_value(value)
    assert len(label) <= 63 and LABEL_VALUE.fullmatch(label)


# -- the rules enforced by the operator's constructor ------------------------------------------


def test_constructor_enforces_the_task_id_rule():
    with pytest.raises(NamingRuleError, match="'DiscoverFiles'.*e.g. to 'discover_files'"):
        make_task(task_id="DiscoverFiles")


def test_constructor_requires_team_pipeline_and_a_real_owner():
    from airflow.sdk import DAG

    from data_platform.pod import PlatformPodOperator

    with DAG("no_defaults", schedule=None, default_args={"owner": "jane"}):
        with pytest.raises(NamingRuleError, match="'team' is required.*default_args"):
            PlatformPodOperator(task_id="t", profile="small", image="platform-tools", cmds=["true"])
    with DAG("airflow_owner", schedule=None, default_args={"team": "data-eng", "pipeline": "cdc"}):
        with pytest.raises(NamingRuleError, match="owner is required"):
            PlatformPodOperator(task_id="t", profile="small", image="platform-tools", cmds=["true"])


def test_profile_managed_arguments_are_refused_per_task():
    with pytest.raises(
        TypeError, match=re.escape("namespace, service_account_name come(s) from the pod profile")
    ):
        make_task(namespace="default", service_account_name="admin")


def test_default_args_fill_team_and_pipeline():
    task = make_task()
    assert (task.team, task.pipeline, task.owner) == ("data-eng", "cdc", "jane.doe")
