"""JSON logs and OpenLineage events of the jobs."""

from __future__ import annotations

import io
import json
import logging

from spark_jobs.common.lineage import (
    LineageDataset,
    LineageEmitter,
    ParentRun,
    lineage_configured,
    stable_run_uuid,
)
from spark_jobs.common.logs import configure_json_logging, log_event


def test_json_log_lines_carry_fields_and_exceptions(restore_root_logging):
    stream = io.StringIO()
    configure_json_logging("INFO", stream)
    logger = logging.getLogger("spark_jobs.test")
    log_event(logger, "table merged", table_id="shop.orders", inserted=3)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["message"], first["table_id"], first["inserted"], first["level"]) == (
        "table merged",
        "shop.orders",
        3,
        "INFO",
    )
    assert second["level"] == "ERROR" and "ValueError: boom" in second["exception"]


def test_lineage_is_a_no_op_without_configuration(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("OPENLINEAGE"):
            monkeypatch.delenv(key)
    assert not lineage_configured()
    emitter = LineageEmitter.from_environment()
    assert not emitter.enabled
    assert emitter.emit("START", "job", "run") is False
    assert lineage_configured({"OPENLINEAGE__TRANSPORT__TYPE": "console"})
    assert not lineage_configured({"OPENLINEAGE_URL": "http://x", "OPENLINEAGE_DISABLED": "true"})


def test_lineage_events_through_a_file_transport(tmp_path, monkeypatch):
    log_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(log_file))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    emitter = LineageEmitter.from_environment(namespace="tests")
    assert emitter.enabled
    inputs = [LineageDataset.from_uri("s3://landing/shop/public/orders")]
    outputs = [LineageDataset.from_uri(f"file://{tmp_path}/lake/cdc/shop/orders")]
    assert emitter.emit("START", "cdc_merge.shop.orders", "run-1", inputs, outputs)
    assert emitter.emit("FAIL", "cdc_merge.shop.orders", "run-1", inputs, outputs, error_message="bad rows")
    start, fail = (json.loads(line) for line in log_file.read_text().splitlines())
    assert start["eventType"] == "START" and fail["eventType"] == "FAIL"
    assert (
        start["run"]["runId"]
        == fail["run"]["runId"]
        == stable_run_uuid("tests", "cdc_merge.shop.orders", "run-1")
    )
    assert (start["inputs"][0]["namespace"], start["inputs"][0]["name"]) == (
        "s3://landing",
        "shop/public/orders",
    )
    assert start["outputs"][0]["namespace"] == "file"
    assert fail["run"]["facets"]["errorMessage"]["message"] == "bad rows"


def test_lineage_events_carry_the_parent_run_and_column_lineage(tmp_path):
    log_file = tmp_path / "events.jsonl"
    conf = {
        "spark.openlineage.parentJobNamespace": "airflow",
        "spark.openlineage.parentJobName": "cdc_hourly.merge_tables",
        "spark.openlineage.parentRunId": "01890f9a-2b3c-7d4e-8f00-000000000001",
    }
    parent = ParentRun.from_spark_conf(conf)
    assert parent is not None and ParentRun.from_spark_conf({}) is None
    emitter = LineageEmitter.from_environment(
        transport={"type": "file", "log_file_path": str(log_file), "append": True},
        namespace="tests",
        parent=parent,
    )
    landing = LineageDataset.from_uri("s3://landing/shop/public/orders")
    table = LineageDataset.from_uri("s3://lake/cdc/shop/orders").copied_from(
        [landing], [("order_id", "bigint"), ("amount", "decimal(12,2)")]
    )
    assert emitter.emit("COMPLETE", "cdc_merge.shop.orders", "run-1", [landing], [table])
    (event,) = (json.loads(line) for line in log_file.read_text().splitlines())
    assert event["run"]["facets"]["parent"]["job"]["name"] == "cdc_hourly.merge_tables"
    facets = event["outputs"][0]["facets"]
    assert [f["name"] for f in facets["schema"]["fields"]] == ["order_id", "amount"]
    (source,) = facets["columnLineage"]["fields"]["amount"]["inputFields"]
    assert (source["namespace"], source["name"], source["field"]) == (
        "s3://landing",
        "shop/public/orders",
        "amount",
    )


def test_a_job_without_environment_configuration_sends_where_the_agent_sends(tmp_path, monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("OPENLINEAGE"):
            monkeypatch.delenv(key)
    log_file = tmp_path / "agent-events.jsonl"
    conf = {
        "spark.openlineage.transport.type": "file",
        "spark.openlineage.transport.location": str(log_file),
        "spark.openlineage.namespace": "acme-dev",
        "spark.openlineage.parentJobNamespace": "airflow",
        "spark.openlineage.parentJobName": "jira_ingestion.build_tables",
        "spark.openlineage.parentRunId": "01890f9a-2b3c-7d4e-8f00-000000000001",
    }
    emitter = LineageEmitter.for_spark_job(conf)
    assert emitter.emit("COMPLETE", "jira_transform.acme", "run-1")
    (event,) = (json.loads(line) for line in log_file.read_text().splitlines())
    assert event["job"]["namespace"] == "acme-dev"
    assert event["run"]["facets"]["parent"]["run"]["runId"] == conf["spark.openlineage.parentRunId"]
    assert not LineageEmitter.for_spark_job({"spark.openlineage.transport.type": "kafka"}).enabled
    assert not LineageEmitter.for_spark_job({}).enabled


def test_the_agents_http_transport_for_the_jobs_events():
    from spark_jobs.common.spark_transport import transport_from_spark_conf

    conf = {
        "spark.openlineage.transport.type": "http",
        "spark.openlineage.transport.url": "https://lineage.dev.acme.internal",
        "spark.openlineage.transport.endpoint": "/api/v1/lineage",
        "spark.openlineage.transport.timeoutInMillis": "5000",
        "spark.openlineage.transport.auth.type": "api_key",
        "spark.openlineage.transport.auth.apiKey": "k",
    }
    assert transport_from_spark_conf(conf) == {
        "type": "http",
        "url": "https://lineage.dev.acme.internal",
        "endpoint": "/api/v1/lineage",
        "timeout": 5.0,
        "auth": {"type": "api_key", "apiKey": "k"},
    }
    assert transport_from_spark_conf({"spark.app.name": "x"}) is None
