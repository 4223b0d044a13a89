"""MWAA deploy against moto S3; MWAA API calls through botocore's Stubber, which validates every
request against the real service model (moto has no MWAA)."""

from __future__ import annotations

import io
import zipfile

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from data_platform.deploy import mwaa
from data_platform.deploy.bundle import plugins_zip

BUCKET, ENV, REGION = "mwaa-source", "data-platform-dev", "eu-west-1"


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


@pytest.fixture
def mwaa_client():
    client = boto3.client("mwaa", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_plugins_zip_is_built_from_inside_the_plugins_folder():
    names = zipfile.ZipFile(io.BytesIO(plugins_zip())).namelist()
    assert "data_platform/__init__.py" in names
    assert not any(n.startswith("plugins/") for n in names)
    assert not any("__pycache__" in n for n in names)
    assert plugins_zip() == plugins_zip(), "zip must be deterministic"


def test_first_deploy_uploads_everything_and_updates_the_environment(s3, mwaa_client):
    client, stubber = mwaa_client
    stubber.add_response(
        "update_environment",
        {"Arn": "arn:aws:airflow:eu-west-1:1:environment/x"},
        {
            "Name": ENV,
            "DagS3Path": "dags",
            "PluginsS3Path": "plugins.zip",
            "RequirementsS3Path": "requirements.txt",
            "StartupScriptS3Path": "startup.sh",
            "PluginsS3ObjectVersion": ANY,
            "RequirementsS3ObjectVersion": ANY,
            "StartupScriptS3ObjectVersion": ANY,
        },
    )
    result = mwaa.deploy(s3, client, BUCKET, ENV)
    assert "dags/platform_smoke.py" in result.uploaded
    assert "dags/include/platform/environments.yaml" in result.uploaded
    assert {"plugins.zip", "requirements.txt", "startup.sh"} <= set(result.uploaded)
    update = result.environment_update
    assert update["PluginsS3ObjectVersion"] == s3.head_object(Bucket=BUCKET, Key="plugins.zip")["VersionId"]


def test_redeploy_of_an_unchanged_tree_changes_nothing(s3, mwaa_client):
    client, stubber = mwaa_client
    stubber.add_response("update_environment", {"Arn": "arn"}, None)
    mwaa.deploy(s3, client, BUCKET, ENV)
    again = mwaa.deploy(s3, client, BUCKET, ENV)  # the stubber would fail on a second update
    assert again.uploaded == [] and again.deleted == [] and again.environment_update is None


def test_dag_files_removed_locally_are_removed_from_the_bucket(s3, mwaa_client):
    client, stubber = mwaa_client
    stubber.add_response("update_environment", {"Arn": "arn"}, None)
    s3.put_object(Bucket=BUCKET, Key="dags/retired_pipeline.py", Body=b"# old")
    result = mwaa.deploy(s3, client, BUCKET, ENV)
    assert result.deleted == ["dags/retired_pipeline.py"]


def test_deploy_refuses_a_bucket_without_versioning(mwaa_client):
    client, _ = mwaa_client
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="plain", CreateBucketConfiguration={"LocationConstraint": REGION})
        with pytest.raises(RuntimeError, match="versioning"):
            mwaa.deploy(s3, client, "plain", ENV)


def test_trigger_posts_a_dag_run_with_logical_date(mwaa_client):
    client, stubber = mwaa_client
    stubber.add_response(
        "invoke_rest_api",
        {"RestApiStatusCode": 200, "RestApiResponse": {"dag_run_id": "manual_1"}},
        {
            "Name": ENV,
            "Path": "/dags/platform_smoke/dagRuns",
            "Method": "POST",
            "Body": {"logical_date": "2026-01-15T00:00:00Z", "conf": {"rows": 10}},
        },
    )
    out = mwaa.trigger(client, ENV, "platform_smoke", "2026-01-15T00:00:00Z", {"rows": 10})
    assert out == {"dag_run_id": "manual_1"}


def test_backfill_creates_an_airflow3_backfill(mwaa_client):
    client, stubber = mwaa_client
    stubber.add_response(
        "invoke_rest_api",
        {"RestApiStatusCode": 200, "RestApiResponse": {"id": 7}},
        {
            "Name": ENV,
            "Path": "/backfills",
            "Method": "POST",
            "Body": {
                "dag_id": "platform_smoke",
                "from_date": "2026-01-01",
                "to_date": "2026-01-31",
                "reprocess_behavior": "failed",
                "max_active_runs": 4,
            },
        },
    )
    assert mwaa.backfill(client, ENV, "platform_smoke", "2026-01-01", "2026-01-31", "failed") == {"id": 7}


def test_api_errors_carry_the_status_and_the_answer(mwaa_client):
    client, stubber = mwaa_client
    stubber.add_response(
        "invoke_rest_api",
        {"RestApiStatusCode": 404, "RestApiResponse": {"detail": "DAG not found"}},
        None,
    )
    with pytest.raises(RuntimeError, match="404.*DAG not found"):
        mwaa.trigger(client, ENV, "nope", None, {})
