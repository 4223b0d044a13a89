"""MWAA deploy against moto S3 (versioned, SSE-KMS); MWAA API calls through botocore's Stubber,
which validates every request and response against the real service model (the installed moto
has no MWAA backend)."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from dataclasses import replace

import boto3
import pytest
from botocore.stub import ANY
from moto import mock_aws

from data_platform.deploy import mwaa
from data_platform.deploy.bundle import build_bundle, plugins_zip

BUCKET, ENV, REGION = "mwaa-source", "data-platform-dev", "eu-west-1"


@pytest.fixture
def s3():
    """A versioned source bucket encrypted with SSE-KMS, whose ETags (as on real SSE-KMS
    buckets) are not the MD5 of the bytes: change detection must not depend on them."""
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        key_id = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
        client.put_bucket_encryption(
            Bucket=BUCKET,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": key_id,
                        }
                    }
                ]
            },
        )

        def opaque_etags(parsed, **_kwargs):
            if "ETag" in parsed:
                parsed["ETag"] = f'"{uuid.uuid4().hex}"'
            for item in parsed.get("Contents", []):
                item["ETag"] = f'"{uuid.uuid4().hex}"'

        for operation in ("GetObject", "HeadObject", "ListObjectsV2", "PutObject"):
            client.meta.events.register(
                f"after-call.s3.{operation}", lambda parsed, **kw: opaque_etags(parsed)
            )
        yield client


def _environment(stubber, status="AVAILABLE", versions=None):
    """GetEnvironment answers with ``status`` and the environment's current object versions."""
    environment = {"Name": ENV, "Status": status, "DagS3Path": "dags"}
    for path_field, version_field, key in mwaa._OBJECTS:
        if versions and versions.get(key):
            environment[path_field], environment[version_field] = key, versions[key]
    stubber.add_response("get_environment", {"Environment": environment}, {"Name": ENV})


def _update(stubber, versions=ANY):
    expected = {"Name": ENV, "DagS3Path": "dags"}
    for path_field, version_field, key in mwaa._OBJECTS:
        expected[path_field] = key
        expected[version_field] = versions if versions is ANY else versions[key]
    stubber.add_response("update_environment", {"Arn": "arn:aws:airflow:eu-west-1:1:environment/x"}, expected)


def _latest_versions(s3) -> dict[str, str]:
    return {
        key: s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]
        for key in ("plugins.zip", "requirements.txt", "startup.sh")
    }


def test_plugins_zip_is_built_from_inside_the_plugins_folder():
    names = zipfile.ZipFile(io.BytesIO(plugins_zip())).namelist()
    assert "data_platform/__init__.py" in names
    assert not any(n.startswith("plugins/") for n in names)
    assert not any("__pycache__" in n for n in names)
    assert plugins_zip() == plugins_zip(), "zip must be deterministic"


def test_first_deploy_uploads_everything_and_updates_the_environment(s3, mwaa_client):
    client, stubber = mwaa_client
    _environment(stubber)
    _update(stubber)
    result = mwaa.deploy(s3, client, BUCKET, ENV)
    assert "dags/platform_smoke.py" in result.uploaded
    assert "dags/include/platform/environments.yaml" in result.uploaded
    assert "dags/include/cdc/tables.json" in result.uploaded
    assert {"plugins.zip", "requirements.txt", "startup.sh"} <= set(result.uploaded)
    assert result.environment_update["PluginsS3ObjectVersion"] == _latest_versions(s3)["plugins.zip"]
    head = s3.head_object(Bucket=BUCKET, Key="plugins.zip")
    assert head["ServerSideEncryption"] == "aws:kms" and head["Metadata"]["sha256"]


def test_redeploy_of_an_unchanged_tree_changes_nothing_despite_opaque_etags(s3, mwaa_client):
    client, stubber = mwaa_client
    _environment(stubber)
    _update(stubber)
    mwaa.deploy(s3, client, BUCKET, ENV)
    startup = s3.get_object(Bucket=BUCKET, Key="startup.sh")
    assert startup["ETag"].strip('"') != hashlib.md5(startup["Body"].read()).hexdigest()
    _environment(stubber, versions=_latest_versions(s3))
    again = mwaa.deploy(s3, client, BUCKET, ENV)  # the stubber would fail on a second update
    assert again.uploaded == [] and again.deleted == [] and again.environment_update is None


def test_an_update_that_failed_after_the_uploads_is_finished_by_the_next_run(s3, mwaa_client):
    client, stubber = mwaa_client
    _environment(stubber, versions={"plugins.zip": "old", "requirements.txt": "old", "startup.sh": "old"})
    stubber.add_client_error(
        "update_environment", "ValidationException", "Environment is in UPDATING state", http_status_code=400
    )
    with pytest.raises(client.exceptions.ClientError):
        mwaa.deploy(s3, client, BUCKET, ENV)
    uploaded = _latest_versions(s3)
    # the environment still runs the old objects: the rerun uploads nothing and updates it
    _environment(stubber, versions={"plugins.zip": "old", "requirements.txt": "old", "startup.sh": "old"})
    _update(stubber, uploaded)
    rerun = mwaa.deploy(s3, client, BUCKET, ENV)
    assert rerun.uploaded == [] and rerun.environment_update is not None


def test_a_busy_environment_is_left_alone_and_updated_by_a_later_run(s3, mwaa_client):
    client, stubber = mwaa_client
    _environment(stubber, status="UPDATING")
    with pytest.raises(mwaa.EnvironmentBusy, match="UPDATING.*rerun deploy"):
        mwaa.deploy(s3, client, BUCKET, ENV)
    _environment(stubber, status="AVAILABLE")
    _update(stubber, _latest_versions(s3))
    assert mwaa.deploy(s3, client, BUCKET, ENV).environment_update is not None


def test_a_changed_file_uploads_only_that_file_and_moves_only_its_version(s3, mwaa_client):
    client, stubber = mwaa_client
    _environment(stubber)
    _update(stubber)
    mwaa.deploy(s3, client, BUCKET, ENV)
    before = _latest_versions(s3)
    bundle = build_bundle()
    changed = replace(bundle, requirements=bundle.requirements + b"# pin refreshed\n")
    _environment(stubber, versions=before)
    _update(stubber, {**before, "requirements.txt": ANY})
    result = mwaa.deploy(s3, client, BUCKET, ENV, bundle=changed)
    assert result.uploaded == ["requirements.txt"]
    assert result.environment_update["RequirementsS3ObjectVersion"] != before["requirements.txt"]


def test_dag_files_removed_locally_are_removed_from_the_bucket(s3, mwaa_client):
    client, stubber = mwaa_client
    _environment(stubber)
    _update(stubber)
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
