"""The deploy dry run: the exact S3 changes (put/delete, sizes, reasons), the Spark artifact
versions to upload and whether UpdateEnvironment will be called; applying it converges."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import requests

from data_platform.deploy import mwaa
from data_platform.deploy.bundle import Bundle
from data_platform.spark.artifacts import open_store

BUCKET, ENV, REGION = "analytics-b-source", "analytics-b", "eu-west-1"
SMALL = Bundle(
    dags={"orders.py": b"x" * 1200, "include/orders/rules.yaml": b"y" * 30},
    plugins_zip=b"z" * 4096,
    requirements=b"apache-airflow-providers-amazon\n",
    startup_script=b"#!/bin/sh\n",
)


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    """The source bucket on the session's moto server, reset first (the artifact store's s3fs is
    not intercepted by moto's in-process mock); AWS_ENDPOINT_URL points boto's chain at it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=30).raise_for_status()
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


def _environment(stubber, s3=None):
    """GetEnvironment: AVAILABLE, running the latest objects of the bucket (none if ``s3`` is None)."""
    environment = {"Name": ENV, "Status": "AVAILABLE", "DagS3Path": "dags"}
    for path_field, version_field, key in mwaa._OBJECTS:
        if s3 is not None:
            environment[path_field] = key
            environment[version_field] = s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]
    stubber.add_response("get_environment", {"Environment": environment}, {"Name": ENV})


def test_the_dry_run_of_a_first_deploy_lists_every_put_and_the_update(s3, mwaa_client):
    client, stubber = mwaa_client
    _environment(stubber)
    plan = mwaa.plan_deploy(s3, client, BUCKET, ENV, SMALL)
    assert mwaa.describe(plan).splitlines() == [
        "environment analytics-b (s3://analytics-b-source, status AVAILABLE):",
        "  put    dags/include/orders/rules.yaml           30 B  new",
        "  put    dags/orders.py                        1,200 B  new",
        "  put    plugins.zip                           4,096 B  new",
        "  put    requirements.txt                         32 B  new",
        "  put    startup.sh                               10 B  new",
        "  unchanged: 0 objects",
        "  UpdateEnvironment: yes (PluginsS3ObjectVersion (new plugins.zip), RequirementsS3ObjectVersion "
        "(new requirements.txt), StartupScriptS3ObjectVersion (new startup.sh))",
    ]
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0, "a dry run changes nothing"


def test_a_change_set_is_planned_exactly_and_applying_it_converges(s3, mwaa_client):
    client, stubber = mwaa_client
    _environment(stubber)
    stubber.add_response("update_environment", {"Arn": "arn:aws:airflow:eu-west-1:1:environment/b"}, None)
    mwaa.deploy(s3, client, BUCKET, ENV, bundle=SMALL)
    changed = Bundle(
        dags={"orders.py": b"x" * 1300, "customers.py": b"c" * 50},
        plugins_zip=SMALL.plugins_zip,
        requirements=SMALL.requirements,
        startup_script=SMALL.startup_script,
    )
    _environment(stubber, s3)
    plan = mwaa.plan_deploy(s3, client, BUCKET, ENV, changed)
    assert [(c.action, c.key, c.size, c.reason) for c in plan.changes] == [
        ("put", "dags/customers.py", 50, "new"),
        ("put", "dags/orders.py", 1300, "changed"),
        ("delete", "dags/include/orders/rules.yaml", 30, "not in this environment's bundle"),
    ]
    assert plan.update_reason is None, "DAG files reach MWAA by the bucket sync, without an update"
    result = mwaa.apply_plan(s3, client, plan, changed)
    assert (result.uploaded, result.deleted, result.environment_update) == (
        ["dags/customers.py", "dags/orders.py"],
        ["dags/include/orders/rules.yaml"],
        None,
    )
    _environment(stubber, s3)
    again = mwaa.plan_deploy(s3, client, BUCKET, ENV, changed)
    assert (again.changes, again.update_reason, again.unchanged) == ([], None, 5)


def test_new_spark_job_versions_are_planned_and_uploaded_once(s3, mwaa_client):
    client, stubber = mwaa_client
    store = open_store(f"s3://{BUCKET}/artifacts", region=REGION)
    _environment(stubber)
    stubber.add_response("update_environment", {"Arn": "arn:aws:airflow:eu-west-1:1:environment/b"}, None)
    plan = mwaa.plan_deploy(s3, client, BUCKET, ENV, SMALL, store, jobs=["cdc_merge"])
    assert [(a.job, a.uri) for a in plan.artifacts] == [
        ("cdc_merge", "s3://analytics-b-source/artifacts/cdc_merge/1.0.0")
    ]
    assert "  spark  cdc_merge 1.0.0 -> s3://analytics-b-source/artifacts/cdc_merge/1.0.0 (new version)" in (
        mwaa.describe(plan).splitlines()
    )
    assert mwaa.apply_plan(s3, client, plan, SMALL, store).artifacts == ["cdc_merge 1.0.0"]
    assert s3.head_object(Bucket=BUCKET, Key="artifacts/cdc_merge/1.0.0/manifest.json")
    _environment(stubber, s3)
    assert mwaa.plan_deploy(s3, client, BUCKET, ENV, SMALL, store, jobs=["cdc_merge"]).artifacts == []


def test_the_deploy_command_checks_then_prints_the_dry_run_and_changes_nothing(
    s3, mwaa_client, monkeypatch, capsys
):
    """``deploy --config ... --environment analytics-a``: the fixture config's environment that
    pins platform_smoke.py gets its share checked and planned; nothing is written."""
    client, stubber = mwaa_client
    config = Path(__file__).resolve().parents[1] / "fixtures" / "mwaa" / "environments.yaml"
    s3.create_bucket(Bucket="analytics-a-source", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="analytics-a-source", VersioningConfiguration={"Status": "Enabled"})
    stubber.add_response(
        "get_environment",
        {"Environment": {"Name": "analytics-a", "Status": "AVAILABLE"}},
        {"Name": "analytics-a"},
    )
    monkeypatch.setattr(boto3, "client", lambda service, **_: {"s3": s3, "mwaa": client}[service])
    assert mwaa.main(["deploy", "--config", str(config), "--environment", "analytics-a"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "environment analytics-a: platform_smoke.py -> DAGs platform_smoke"
    assert "  put    dags/platform_smoke.py" in "\n".join(out)
    assert not any(line.startswith("  put    dags/cdc_pipelines.py") for line in out), (
        "not this environment's"
    )
    assert out[-2].startswith("  UpdateEnvironment: yes")
    assert out[-1] == "dry run: nothing was changed; rerun with --apply to make these changes."
    assert s3.list_objects_v2(Bucket="analytics-a-source").get("KeyCount") == 0


def test_the_deploy_command_refuses_an_unknown_environment(capsys):
    config = Path(__file__).resolve().parents[1] / "fixtures" / "mwaa" / "environments.yaml"
    assert mwaa.main(["deploy", "--config", str(config), "--environment", "analytics-z"]) == 2
    assert "no environment 'analytics-z' in the config" in capsys.readouterr().err


def test_the_deploy_command_without_credentials_fails_at_once_naming_the_fix(
    tmp_path, monkeypatch, capsys
):
    """No credentials anywhere in the chain (no moto): one line naming the fix, exit code 2,
    and nothing built, checked or called before it."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    def no_bundle() -> None:
        raise AssertionError("the bundle was built before the credentials check")

    monkeypatch.setattr(mwaa, "build_bundle", no_bundle)
    config = Path(__file__).resolve().parents[1] / "fixtures" / "mwaa" / "environments.yaml"
    assert mwaa.main(["deploy", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [mwaa.NO_CREDENTIALS]
    assert "AWS_PROFILE" in captured.err and "aws configure" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_a_missing_named_profile_fails_with_the_same_one_line(tmp_path, monkeypatch, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    assert mwaa.main(["trigger", "--environment", "analytics-a", "--dag-id", "x"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(mwaa.NO_CREDENTIALS)
    assert "nobody" in err
