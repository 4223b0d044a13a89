"""The aws path: manifest in S3 (moto), COPY ... FORMAT AS PARQUET MANIFEST text, Redshift SQL.

No Redshift is available, so the Redshift hook's connection is replaced by one that records the
statements; everything else (settings, S3 via moto, the hook lookup, lineage naming) is real.
"""

from __future__ import annotations

import json

import pytest
from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

from data_platform.lake import storage
from data_platform.lake.markers import ProcessedMarkers
from data_platform.lake.storage import LakeFile
from data_platform.warehouse.bulk_copy import build_manifest, redshift_copy_sql
from data_platform.warehouse.connection import COLUMNS_SQL
from data_platform.warehouse.operators import LoadToWarehouseOperator
from tests.lake.moto_s3 import s3_client
from tests.warehouse.conftest import event, task_context

ROLE = "arn:aws:iam::111122223333:role/redshift-copy-dev"  # environment "dev"
TARGET_COLUMNS = [
    ("event_id", "bigint"),
    ("user_id", "character varying(64)"),
    ("event_type", "character varying(32)"),
    ("amount", "numeric(12,2)"),
    ("event_ts", "timestamp without time zone"),
    ("event_date", "date"),
    ("updated_at", "timestamp without time zone"),
    ("seq", "bigint"),
    ("loaded_at", "timestamp without time zone"),
]


class RecordingCursor:
    def __init__(self, log: list[str]):
        self.log = log
        self.rowcount = -1
        self._result: list[tuple] = []

    def execute(self, sql: str, params=None) -> None:
        self.log.append(" ".join(sql.split()))
        self.rowcount = 1
        if sql == COLUMNS_SQL:
            self._result = TARGET_COLUMNS
        elif sql.startswith("SELECT COUNT(*), ") and sql.endswith(' FROM "stage_events"'):
            self._result = [(3, 0)]  # staged rows, repeated keys
        elif sql.startswith("SELECT MAX(CASE WHEN"):  # one flag per column checked: no value misfits
            self._result = [(0,) * sql.count("MAX(CASE WHEN")]
        else:
            self._result = [(0,)]

    def fetchone(self):
        return self._result[0] if self._result else None

    def fetchall(self):
        return self._result

    def close(self) -> None:
        pass


class RecordingConnection:
    def __init__(self):
        self.statements: list[str] = []
        self.commits = self.rollbacks = 0

    def cursor(self):
        return RecordingCursor(self.statements)

    def commit(self):
        self.commits += 1

    def rollback(self):
        self.rollbacks += 1

    def close(self):
        pass


@pytest.fixture
def redshift(aws_lake, monkeypatch) -> RecordingConnection:
    connection = RecordingConnection()
    monkeypatch.setenv(
        "AIRFLOW_CONN_REDSHIFT_DEFAULT",
        json.dumps(
            {
                "conn_type": "redshift",
                "host": "analytics.abc123.eu-west-1.redshift.amazonaws.com",
                "port": 5439,
                "schema": "dev",
                "login": "loader",
            }
        ),
    )
    monkeypatch.setattr(RedshiftSQLHook, "get_conn", lambda self: connection)
    return connection


def _put_parquet(lake_root: str, relative: str, rows: list[dict]) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.warehouse.conftest import event_schema

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=event_schema()), sink)
    return storage.write_bytes(storage.join(lake_root, relative), sink.getvalue().to_pybytes())


def test_manifest_and_copy_statement():
    files = [LakeFile("s3://b/lake/a.parquet", 10), LakeFile("s3://b/lake/b.parquet", 20)]
    assert build_manifest(files) == {
        "entries": [
            {"url": "s3://b/lake/a.parquet", "mandatory": True, "meta": {"content_length": 10}},
            {"url": "s3://b/lake/b.parquet", "mandatory": True, "meta": {"content_length": 20}},
        ]
    }
    assert redshift_copy_sql("stage_t", "s3://b/m.manifest", ROLE) == (
        f"COPY stage_t\nFROM 's3://b/m.manifest'\nIAM_ROLE '{ROLE}'\nFORMAT AS PARQUET\nMANIFEST"
    )
    with pytest.raises(ValueError, match="warehouse_copy_role_arn"):
        redshift_copy_sql("stage_t", "s3://b/m.manifest", None)
    with pytest.raises(ValueError, match="S3 only"):
        build_manifest([LakeFile("file:///tmp/a.parquet", 1)])


def test_aws_merge_writes_the_manifest_to_s3_and_copies_through_redshift(aws_lake, redshift, moto_endpoint):
    uris = [
        _put_parquet(aws_lake, "cdc/demo/events/accepted/f1.parquet", [event(1), event(2)]),
        _put_parquet(aws_lake, "cdc/demo/events/accepted/f2.parquet", [event(1, op="D")]),
    ]
    task = LoadToWarehouseOperator(
        task_id="load_events",
        table="demo.events",
        source_uris=uris,
        primary_key=["event_id"],
        delete_column="op",
        order_by=["seq"],
    )

    result = task.execute(task_context("load_events"))

    manifest_uri = f"{aws_lake}/_manifests/demo.events/events_dag.manual__1.load_events.manifest"
    bucket, key = manifest_uri.removeprefix("s3://").split("/", 1)
    manifest = json.loads(s3_client(moto_endpoint).get_object(Bucket=bucket, Key=key)["Body"].read())
    assert [e["url"] for e in manifest["entries"]] == uris
    assert [e["meta"]["content_length"] for e in manifest["entries"]] == [
        storage.file_info(u).size for u in uris
    ]

    sql = redshift.statements
    copy = f"COPY \"stage_events\" FROM '{manifest_uri}' IAM_ROLE '{ROLE}' FORMAT AS PARQUET MANIFEST"
    order = [
        "CREATE TABLE IF NOT EXISTS dp_audit.load_log",
        "CREATE TABLE IF NOT EXISTS demo.events",
        "SET timezone TO 'UTC'",
        'LOCK "demo"."events"',
        'CREATE TEMP TABLE "stage_events" ( "op" VARCHAR(65535), "event_id" BIGINT',
        copy,
        'SELECT COUNT(*), 0 FROM "stage_events"',
        'CREATE TEMP TABLE "stage_events_latest" AS',
        'DELETE FROM "demo"."events" USING "stage_events_latest" AS s',
        'UPDATE "demo"."events" SET "user_id" = CAST(s."user_id" AS character varying(64))',
        'INSERT INTO "demo"."events" ("event_id", "user_id"',
        "INSERT INTO dp_audit.load_log",
    ]
    positions = [next(i for i, s in enumerate(sql) if s.startswith(prefix)) for prefix in order]
    assert positions == sorted(positions)
    assert any("DISTKEY (event_id)" in s for s in sql)  # Redshift SQL goes out untranslated
    # the idempotent DDL is committed on its own first, then the load
    assert redshift.commits == 2 and redshift.rollbacks == 0
    assert result["rows_in"] == 3
    assert ProcessedMarkers(aws_lake, "events_dag").is_processed(uris[1])

    lineage = task.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("redshift://analytics.eu-west-1:5439", "dev.demo.events")
    ]
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        (f"s3://{bucket}", "lake/cdc/demo/events/accepted")
    ]


def test_aws_load_refuses_files_outside_the_lake(aws_lake, redshift):
    task = LoadToWarehouseOperator(
        task_id="load", table="demo.events", source_uris=["s3://elsewhere/x.parquet"], mode="append"
    )
    with pytest.raises(ValueError, match="not under"):
        task.execute(task_context())
    assert redshift.statements == []
