"""The processing run over a raw events folder, the catalog push and the compliance check."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from events import run_event

from data_platform.lineage.catalog import push
from data_platform.lineage.compliance import (
    SparkRun,
    emr_runs_of_day,
    local_runs_of_day,
    runs_without_lineage,
    tasks_with_spark_lineage,
)
from data_platform.lineage.processing import process, read_edges
from data_platform.lineage.transport import Catalog
from data_platform.lineage.validation import problems
from data_platform.local.lineage_endpoint import serving

LANDING = ("file", "/lake/landing/erp/dbo/invoices")
TABLE = ("file", "/lake/cdc/erp/invoices")


def _good(time: str = "2026-01-15T01:00:00+00:00") -> dict:
    return run_event(
        "cdc_merge.erp.invoices",
        [LANDING],
        TABLE,
        {"amount": [(*LANDING, "amount")], "invoice_id": [(*LANDING, "invoice_id")]},
        event_time=time,
        parent_job="cdc_hourly.merge_tables",
        producer="https://github.com/OpenLineage/OpenLineage/tree/1.27.0/integration/spark",
    )


def _raw_folder(tmp_path):
    raw = tmp_path / "lineage" / "raw"
    raw.mkdir(parents=True)
    (raw / "event-1.json").write_text(json.dumps(_good()))
    bad = _good()
    bad["schemaURL"] = "https://openlineage.io/spec/9-0-0/OpenLineage.json#/$defs/RunEvent"
    (raw / "spark").mkdir()
    (raw / "spark" / "events.jsonl").write_text(
        json.dumps(_good("2026-01-15T02:00:00+00:00")) + "\n" + json.dumps(bad) + "\n{oops\n"
    )
    return raw


def test_process_builds_the_table_and_quarantines_bad_events(tmp_path) -> None:
    raw = _raw_folder(tmp_path)
    result = process(f"file://{raw}")
    assert (result.files_read, result.events_valid, result.events_rejected, result.edges) == (2, 2, 2, 2)
    [quarantined] = result.quarantine_uris
    assert quarantined.endswith("/lineage/quarantine/spark/events.jsonl.rejected.jsonl")
    rows = [
        json.loads(line)
        for line in (tmp_path / "lineage/quarantine/spark/events.jsonl.rejected.jsonl")
        .read_text()
        .splitlines()
    ]
    assert [r["line"] for r in rows] == [2, 3]
    assert "9-0-0" in rows[0]["reason"] and "not an OpenLineage spec version" in rows[0]["reason"]
    assert rows[1]["reason"].startswith("not JSON") and rows[1]["text"] == "{oops"
    edges = read_edges(result.edges_json_uri)
    assert {(e.source_field, e.target_field) for e in edges} == {
        ("amount", "amount"),
        ("invoice_id", "invoice_id"),
    }
    assert {e.event_time for e in edges} == {"2026-01-15T02:00:00+00:00"}  # the newest observation

    again = process(f"file://{raw}")
    assert again.edges_uri == result.edges_uri  # same content, same file: a rerun loads nothing new
    import pyarrow.parquet as pq

    assert pq.read_table(result.edges_uri.removeprefix("file://")).num_rows == 2


def test_push_sends_valid_events_to_the_catalog(tmp_path) -> None:
    edges = read_edges(process(f"file://{_raw_folder(tmp_path)}").edges_json_uri)
    received = tmp_path / "catalog.jsonl"
    with serving(received) as url:
        sent = push(
            edges,
            [Catalog(name="m", kind="marquez", url=url), Catalog(name="d", kind="datahub", url=url)],
            lambda secret: secret,
            datetime(2026, 1, 15, tzinfo=UTC),
        )
    assert sent == {"m": 1, "d": 1}
    events = [json.loads(line) for line in received.read_text().splitlines()]
    assert len(events) == 2 and all(problems(e) == [] for e in events)
    facet = events[0]["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert facet["amount"]["inputFields"][0]["field"] == "amount"


def test_runs_without_lineage() -> None:
    events = [_good()]
    named = tasks_with_spark_lineage(events, date(2026, 1, 15))
    assert named == {"cdc_hourly.merge_tables"}
    runs = [
        SparkRun("cdc_hourly.merge_tables", "r1", "2026-01-15T01:00:00+00:00", "local"),
        SparkRun("jira_sync.flatten", "r2", "2026-01-15T03:00:00+00:00", "local"),
    ]
    assert [r.task for r in runs_without_lineage(runs, named)] == ["jira_sync.flatten"]
    assert tasks_with_spark_lineage(events, date(2026, 1, 17)) == set()


def test_runs_of_the_day(tmp_path) -> None:
    import os

    folder = tmp_path / "cdc_hourly.merge_tables.-1"
    folder.mkdir()
    when = datetime(2026, 1, 15, 1, 30, tzinfo=UTC).timestamp()
    os.utime(folder, (when, when))
    assert [r.task for r in local_runs_of_day(tmp_path, date(2026, 1, 15))] == ["cdc_hourly.merge_tables"]
    assert local_runs_of_day(tmp_path, date(2026, 1, 16)) == []

    class Pages:
        def paginate(self, **kwargs):
            assert kwargs["applicationId"] == "app" and kwargs["createdAtAfter"] == datetime(
                2026, 1, 15, tzinfo=UTC
            )
            created = datetime(2026, 1, 15, 2, tzinfo=UTC)
            return [
                {
                    "jobRuns": [
                        {
                            "id": "j1",
                            "name": "cdc_hourly.merge_tables[3] @ scheduled__x",
                            "createdAt": created,
                        }
                    ]
                }
            ]

    class Client:
        def get_paginator(self, name):
            assert name == "list_job_runs"
            return Pages()

    assert [(r.task, r.run_id) for r in emr_runs_of_day(Client(), "app", date(2026, 1, 15))] == [
        ("cdc_hourly.merge_tables", "j1")
    ]
