"""Fixtures of the Spark tests: a private include/ with the tiny test job, and moto for the aws target."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from spark_testing import ACCOUNT, OTHER_RUN, REGION, FakeClock

from data_platform.paths import REPO_ROOT

TINYJOB = {
    "version": "1.0.0",
    "package": "tests/spark/jobs/tinyjob",
    "entry_points": ["tinyjob.wordcount", "tinyjob.fail", "tinyjob.sleep"],
    "profiles": ["hudi"],
    "requirements": None,
}
ARTIFACTS_BUCKET = "acme-test-artifacts"
LOGS_BUCKET = "acme-test-logs"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/emr-serverless-job-test"


@dataclass
class IncludeCopy:
    root: Path

    def edit(self, relative: str, change: Callable[[Any], None]) -> None:
        """Change a YAML file of the copy (before anything loaded it: loads are cached per path)."""
        path = self.root / relative
        data = yaml.safe_load(path.read_text()) or {}
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def spark_include(tmp_path, monkeypatch) -> IncludeCopy:
    """A private copy of include/platform and include/spark, with the tiny test job registered."""
    root = tmp_path / "include"
    for part in ("platform", "spark"):
        shutil.copytree(REPO_ROOT / "include" / part, root / part)
    monkeypatch.setenv("PLATFORM_INCLUDE_PATH", str(root))
    copy = IncludeCopy(root)
    copy.edit("spark/jobs.yaml", lambda jobs: jobs.update(tinyjob=dict(TINYJOB)))
    return copy


@dataclass
class AwsStack:
    application_id: str
    log_uri: str
    artifacts_root: str
    clock: FakeClock

    def s3(self) -> Any:
        import boto3

        return boto3.client("s3", region_name=REGION)


@pytest.fixture
def aws_stack(spark_include, local_dir, monkeypatch, moto_endpoint) -> Iterator[AwsStack]:
    """The aws target (environment ``dev``) on the session's moto server, reset first: an EMR
    Serverless application, buckets, tinyjob 1.0.0 deployed, and a fake clock for the provider's
    waiter (no real sleeping). A server, not moto's in-process mock: the artifact store's s3fs
    (aiobotocore) is not intercepted by it."""
    import boto3
    import requests
    from airflow.providers.amazon.aws.utils import waiter_with_logging

    from data_platform.spark import emr_target

    artifacts_root = f"s3://{ARTIFACTS_BUCKET}/spark"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "PIPELINE_TARGET": "aws",
        "PIPELINE_ENV": "dev",
        "ARTIFACTS_ROOT": artifacts_root,
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {"conn_type": "aws", "extra": {"region_name": REGION, "endpoint_url": moto_endpoint}}
        ),
    }.items():
        monkeypatch.setenv(name, value)
    clock = FakeClock()
    monkeypatch.setattr(emr_target, "seconds_until", clock.seconds_until)
    monkeypatch.setattr(waiter_with_logging, "time", SimpleNamespace(sleep=clock.sleep))
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=30).raise_for_status()
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in (ARTIFACTS_BUCKET, LOGS_BUCKET):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    emr = boto3.client("emr-serverless", region_name=REGION)
    app_id = emr.create_application(name="spark-dev", releaseLabel="emr-7.12.0", type="SPARK")[
        "applicationId"
    ]
    log_uri = f"s3://{LOGS_BUCKET}/emr-serverless"
    # The application is shared: another team's run is there and must be ignored by the lookup.
    emr.start_job_run(
        applicationId=app_id,
        clientToken="other-team",
        executionRoleArn=EXECUTION_ROLE,
        name=OTHER_RUN,
        jobDriver={"sparkSubmit": {"entryPoint": "s3://other-team/job.py"}},
        tags={"airflow:ti": "other"},
    )

    def point_at_moto(environments: dict) -> None:
        environments["dev"]["emr"].update(
            application_id=app_id, execution_role_arn=EXECUTION_ROLE, log_uri=log_uri
        )

    spark_include.edit("spark/environments.yaml", point_at_moto)
    from data_platform.spark.artifacts import build_artifact, deploy_artifact, open_store
    from data_platform.spark.jobs import get_job

    built = build_artifact(get_job("tinyjob"), local_dir / "build" / "tinyjob")
    deploy_artifact(built, open_store(artifacts_root, aws_conn_id="aws_default", region=REGION))
    clock.now = datetime.now(UTC)  # the test starts now
    yield AwsStack(app_id, log_uri, artifacts_root, clock)
