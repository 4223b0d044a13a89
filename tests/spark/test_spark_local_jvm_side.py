"""The CDC merge job through SparkJobOperator on the local target, with the JVM side of EMR: the lake on
s3:// (a moto server) through S3A, a real Hudi table, tracker and lock on S3, and the
OpenLineage Spark agent writing its events (Airflow task as parent run) to the lineage folder.
One spark-submit run (a JVM start and Hudi on S3 cost about a minute)."""

from __future__ import annotations

import json
import uuid

import pytest
from spark_testing import REGION, run_context

pytestmark = pytest.mark.spark

TABLE_CONFIG = """\
source_db: src
defaults: {source_schema: public, cadence: hourly, ordering_columns: [ts]}
tables:
  - source_table: items
    primary_key: [id]
    partition_by: [part]
    file_format: csv
    columns: [{name: id, type: bigint}, {name: qty, type: int}]
"""


@pytest.fixture
def s3_lake(moto_endpoint, monkeypatch):
    """A fresh moto bucket; the environment names it the way a developer's shell would (the
    spark-submit process inherits it: S3A reads endpoint and credentials from it)."""
    import boto3
    from s3fs import S3FileSystem

    from spark_jobs.common import lake as lake_io

    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    lake_io._s3_client.cache_clear()
    S3FileSystem.clear_instance_cache()  # the next one reads the endpoint set here
    bucket = f"cdc-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint)
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield client, bucket
    lake_io._s3_client.cache_clear()
    S3FileSystem.clear_instance_cache()


def test_cdc_merge_on_s3_through_s3a_with_the_openlineage_agent(spark_include, local_dir, tmp_path, s3_lake):
    from airflow.providers.common.compat.openlineage.utils.spark import (
        inject_parent_job_information_into_spark_properties,
    )
    from airflow.sdk import DAG

    from data_platform.spark import SparkJobOperator
    from spark_jobs.cdc.outputs import hudi_commits, read_current, read_result
    from spark_jobs.common.lake import exists, list_files

    client, bucket = s3_lake
    landing, lake = f"s3://{bucket}/landing", f"s3://{bucket}/lake"
    body = "ts,id,qty,part\n" + "".join(f"2024-01-01 00:00:00.000000,{k},{k},p{k % 2}\n" for k in range(1, 6))
    client.put_object(Bucket=bucket, Key="landing/src/public/items/LOAD00000001.csv", Body=body.encode())
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "src.yaml").write_text(TABLE_CONFIG)
    (local_dir / "lineage").mkdir(parents=True)

    with DAG("cdc_s3a_tests", schedule=None):
        task = SparkJobOperator(
            task_id="merge_batch",
            job="cdc_merge",
            version="1",
            args=[
                "--config-dir", str(tmp_path / "tables"), "--tables", "src.items",
                "--landing-root", landing, "--lake-root", lake, "--run-id", "s3a-1",
            ],
        )  # fmt: skip
    context = run_context(task)
    assert task.execute(context)["exit_code"] == 0

    result = read_result(lake, "src", "items", "s3a-1")
    assert result is not None and (result["status"], result["sink"]) == ("ok", "hudi"), result
    assert result["table_uri"] == f"{lake}/cdc/src/items/hudi" and result["rows_after"] == 5
    assert exists(f"{lake}/cdc/src/items/hudi/.hoodie/hoodie.properties")
    assert [c["run_id"] for c in hudi_commits(lake, "src", "items")] == ["s3a-1"]
    rows = sorted((r["id"], r["qty"], r["part"]) for r in read_current(lake, "src", "items").to_pylist())
    assert rows == [(k, k, f"p{k % 2}") for k in range(1, 6)]  # read back by hudi-rs from S3
    state = json.loads(
        client.get_object(Bucket=bucket, Key="lake/_state/cdc/src/items/state.json")["Body"].read()
    )
    assert list(state["processed"]) == ["LOAD00000001.csv"]  # the tracker committed on S3
    lock_files = sorted(f.uri.rsplit("/", 1)[1] for f in list_files(f"{lake}/_state/cdc/src/items/lock"))
    assert lock_files == [
        "000000000001.json",
        "000000000001.released",
    ]  # the lock was taken and released on S3

    # The agent's events: this task is the parent run, and column lineage is kept.
    parent = inject_parent_job_information_into_spark_properties({}, context)
    events_file = local_dir / "lake" / "_lineage" / "raw" / "spark" / "openlineage-spark-events.jsonl"
    written = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    # the agent's events and the merge job's own (column lineage of the DMS files) share the file
    events = [e for e in written if e["producer"].endswith("/integration/spark")]
    own = [e for e in written if e not in events]
    assert events and {e["job"]["name"] for e in own} == {"cdc_merge.src.items"}
    # the application run's parent is this Airflow task; each query run's parent is the application run
    app = [e for e in events if e["run"]["facets"]["parent"]["job"]["name"] == "cdc_s3a_tests.merge_batch"]
    assert {e["eventType"] for e in app} == {"START", "COMPLETE"}
    assert {json.dumps(e["run"]["facets"]["parent"]["run"]) for e in app} == {
        json.dumps({"runId": parent["spark.openlineage.parentRunId"]})
    }
    assert (
        app[0]["run"]["facets"]["parent"]["job"]["namespace"]
        == parent["spark.openlineage.parentJobNamespace"]
    )
    app_run = app[0]["run"]["runId"]
    queries = [e for e in events if e not in app]
    assert queries and all(e["run"]["facets"]["parent"]["run"]["runId"] == app_run for e in queries)
    hudi_outputs = [
        o for e in queries for o in e.get("outputs", []) if o["name"] == "lake/cdc/src/items/hudi"
    ]
    assert hudi_outputs and all(o["namespace"] == f"s3://{bucket}" for o in hudi_outputs)
    lineage = hudi_outputs[-1]["facets"]["columnLineage"]["fields"]
    direct = [
        (f["name"], f["field"])
        for f in lineage["qty"]["inputFields"]
        if any(t["type"] == "DIRECT" for t in f["transformations"])
    ]
    assert direct == [("landing/src/public/items/LOAD00000001.csv", "qty")]
