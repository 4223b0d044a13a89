"""Run-time validation without gaps (issue 11, item 10): task-level labels, any spelling of the
``latest`` tag, non-finite or misspelt resources, credentials in Spark conf keys and URLs."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from pod_testing import make_task

from data_platform.config import ConfigError
from data_platform.pod.images import ImageSpec
from data_platform.pod.resources import check_resources


def test_task_level_labels_are_checked_like_profile_labels():
    task = make_task(labels={"cost-center": "Data Platform / EU"})
    with pytest.raises(AirflowFailException, match="not a valid Kubernetes label value"):
        task.build_pod_request_obj(dry_run=True)


def test_a_valid_task_label_reaches_the_pod():
    pod = make_task(labels={"cost-center": "data-platform-eu"}).build_pod_request_obj(dry_run=True)
    assert pod.metadata.labels["cost-center"] == "data-platform-eu"


@pytest.mark.parametrize("tag", ["latest", "Latest", "LATEST"])
def test_every_spelling_of_latest_is_refused(tag):
    with pytest.raises(ValueError, match="'latest' is not allowed"):
        ImageSpec(repository="123456789012.dkr.ecr.eu-west-1.amazonaws.com/tools", tag=tag)


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"requests": {"cpu": "NaN"}}, "not a finite quantity"),
        ({"limits": {"memory": "Infinity"}}, "not a finite quantity"),
        ({"limits": {"memory": float("inf")}}, "not a finite quantity"),
        ({"requests": {"memroy": "1Gi"}}, "'memroy' is not a Kubernetes resource"),
    ],
)
def test_non_finite_or_misspelt_resources_are_refused(resources, message):
    with pytest.raises(ConfigError, match=message):
        check_resources(resources)


def test_standard_extended_and_hugepage_resources_pass():
    resources = {"requests": {"cpu": "500m", "ephemeral-storage": "1Gi", "hugepages-2Mi": "64Mi"}}
    assert check_resources({**resources, "limits": {"nvidia.com/gpu": "1"}})["limits"] == {
        "nvidia.com/gpu": "1"
    }


@pytest.mark.parametrize(
    "conf",
    [
        {"spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net": "abc"},
        {"spark.hadoop.fs.azure.sas.container.acct.blob.core.windows.net": "sv=2020"},
        {"spark.hadoop.fs.gs.auth.service.account.private.key": "-----BEGIN"},
        {"spark.hadoop.google.cloud.auth.service.account.json.keyfile": "/keys/sa.json"},
        {"spark.jdbc.url": "jdbc:postgresql://db:5432/shop?user=app&password=hunter2"},
        {"spark.datasource.url": "jdbc:sqlserver://db:1433;databaseName=shop;password=hunter2"},
        {"spark.source.url": "jdbc:mysql://app:hunter2@db:3306/shop"},
        {"spark.cache.url": "redis://:hunter2@cache:6379/0"},
        {"spark.source.url": "jdbc:oracle:thin:scott/hunter2@db:1521:orcl"},
        {"spark.driver.extraJavaOptions": "-Xss4m -Dsink=https://app:hunter2@logs.example.com/in"},
        {"spark.jars": "/opt/a.jar,https://ci-token@repo.example.com/b.jar"},
    ],
)
def test_cloud_keys_and_urls_with_passwords_in_spark_conf_are_refused(conf):
    from data_platform.settings import Target
    from data_platform.spark.conf import build_spark_conf

    with pytest.raises(ConfigError, match="credential|password"):
        build_spark_conf(
            target=Target.AWS, environment_conf={}, environment="dev", profiles=[], overrides=conf
        )


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:hunter2@db:5432/shop",
        "postgresql://app:p@ss-hunter2@db/shop",
        "jdbc:sqlserver://db:1433;user=app;password=hunter2",
    ],
)
def test_a_url_with_a_password_in_pod_env_vars_is_refused_without_showing_it(url):
    task = make_task(env_vars={"SOURCE_DB_URL": url})
    with pytest.raises(AirflowFailException, match="env_vars: SOURCE_DB_URL holds a URL with a password") as error:
        task.build_pod_request_obj(dry_run=True)
    assert "hunter2" not in str(error.value) and "secrets=[...]" in str(error.value)


def test_plain_urls_in_pod_env_vars_pass():
    pod = make_task(env_vars={"SOURCE_DB_URL": "postgresql://db:5432/shop?sslmode=require"}).build_pod_request_obj(
        dry_run=True
    )
    assert {e.name: e.value for e in pod.spec.containers[0].env}["SOURCE_DB_URL"].startswith("postgresql://db")
