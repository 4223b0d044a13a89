"""A moto S3 server for the aws-target tests of the lake, sensors and warehouse.

s3fs (ObjectStoragePath) and the provider's async S3 hook use aiobotocore, which moto's
in-process mock cannot intercept, so the tests talk to moto's HTTP server on localhost (real
botocore request building and validation, no AWS).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


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
