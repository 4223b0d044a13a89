"""The aws target on the session's moto server (``moto_endpoint`` in tests/conftest.py), for the
aws-target tests of the lake, sensors and warehouse."""

from __future__ import annotations

import json
import uuid

import pytest

REGION = "eu-west-1"


@pytest.fixture
def aws_lake(moto_endpoint, monkeypatch, local_dir) -> str:
    """The aws target (environment ``dev``) with its lake in a fresh moto bucket; returns the lake root."""
    import boto3

    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "PIPELINE_TARGET": "aws",
        "PIPELINE_ENV": "dev",
        "LAKE_ROOT": f"s3://{bucket}/lake",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {"conn_type": "aws", "extra": {"endpoint_url": moto_endpoint, "region_name": REGION}}
        ),
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return f"s3://{bucket}/lake"


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
