"""The processing run over a raw events folder, the catalog push and the compliance check."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

from events import run_event

from data_platform.lineage.catalog import push
from data_platform.lineage.compliance import (
    SparkRun,
    day_start,
    emr_runs_since,
    local_runs,
    runs_without_lineage,
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


def _airflow_event(task: str, run_id: str, interval_start: str, ran_at: str, map_index: int = -1) -> dict:
    """The OpenLineage provider's event of an Airflow task run: its ``airflow`` run facet."""
    event = run_event(task, [], ("file", "/unused"), {}, event_time=ran_at)
    event["run"]["runId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{task}/{run_id}/{map_index}"))
    event["run"]["facets"]["airflow"] = {
        "_producer": event["producer"],
        "_schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet",
        "dagRun": {"run_id": run_id, "data_interval_start": interval_start},
        "taskInstance": {"map_index": map_index},
    }
    return event


def _spark_event(parent: dict, ran_at: str) -> dict:
    event = _good(ran_at)
    event["run"]["facets"]["parent"]["run"]["runId"] = parent["run"]["runId"]
    return event


def test_a_backfilled_run_counts_on_its_data_interval_day_and_matches_by_run_id() -> None:
    today = "2026-11-30T17:00:00+00:00"
    merge, build = "cdc_hourly.merge_tables", "jira_ingestion.build_tables"
    backfill_run, regular_run = "backfill__2026-01-15T01:00:00+00:00", "scheduled__2026-01-15T02:00:00+00:00"
    # a backfill of 2026-01-15 that ran today (map index 0 with lineage, 1 without); a run of
    # 2026-01-15 that ran then, without lineage; a run of 2026-11-30 with lineage
    backfill = [_airflow_event(merge, backfill_run, "2026-01-15T01:00:00+00:00", today, i) for i in (0, 1)]
    regular = _airflow_event(merge, regular_run, "2026-01-15T02:00:00+00:00", "2026-01-15T02:05:00+00:00", 0)
    current = _airflow_event(
        build, "scheduled__2026-11-30T00:00:00+00:00", "2026-11-30T00:00:00+00:00", today
    )
    events = [*backfill, regular, current, _spark_event(backfill[0], today), _spark_event(current, today)]
    runs = [
        SparkRun(merge, backfill_run, 0, "j1", today, "local"),
        SparkRun(merge, backfill_run, 1, "j2", today, "local"),
        SparkRun(merge, regular_run, 0, "j3", "2026-01-15T02:05:00+00:00", "local"),
        SparkRun(build, "scheduled__2026-11-30T00:00:00+00:00", -1, "j4", today, "local"),
        # its Airflow task run sent no event: the day it was created, and no lineage
        SparkRun(build, "manual__2026-11-30T09:00:00+00:00", -1, "j5", today, "local"),
    ]
    of_day, missing = runs_without_lineage(runs, events, date(2026, 1, 15))
    assert ([r.run_id for r in of_day], [r.run_id for r in missing]) == (["j1", "j2", "j3"], ["j2", "j3"])
    of_day, missing = runs_without_lineage(runs, events, date(2026, 11, 30))
    assert ([r.run_id for r in of_day], [r.run_id for r in missing]) == (["j4", "j5"], ["j5"])
    # the same parent job name with another run id is not this run's lineage
    assert (
        runs_without_lineage(runs[2:3], [regular, _spark_event(backfill[0], today)], date(2026, 1, 15))[1]
        == runs[2:3]
    )


def test_spark_runs_of_both_targets(tmp_path) -> None:
    jobs = tmp_path / "applications" / "local" / "jobs"
    for job_run_id, run_id in (("20261130T170000123456Z-ab12cd34", "backfill__2026-01-15T01:00:00+00:00"),):
        (jobs / job_run_id).mkdir(parents=True)
        tags = {
            "airflow:dag_id": "cdc_hourly",
            "airflow:task_id": "merge_tables",
            "airflow:run_id": run_id,
            "airflow:map_index": "2",
        }
        (jobs / job_run_id / "job_run.json").write_text(
            json.dumps({"name": "x", "tags": tags, "state": "SUCCESS"})
        )
    assert local_runs(tmp_path) == [
        SparkRun(
            "cdc_hourly.merge_tables",
            "backfill__2026-01-15T01:00:00+00:00",
            2,
            "20261130T170000123456Z-ab12cd34",
            "2026-11-30T17:00:00+00:00",
            "local",
        )
    ]

    class Pages:
        def paginate(self, **kwargs):
            assert kwargs == {"applicationId": "app", "createdAtAfter": datetime(2026, 1, 15, tzinfo=UTC)}
            created = datetime(2026, 11, 30, 2, tzinfo=UTC)
            names = [
                "cdc_hourly.merge_tables[3] @ backfill__2026-01-15T01:00:00+00:00",
                "jira_ingestion.build_tables @ manual__x",
            ]
            return [
                {
                    "jobRuns": [
                        {"id": f"j{i}", "name": name, "createdAt": created} for i, name in enumerate(names)
                    ]
                }
            ]

    class Client:
        def get_paginator(self, name):
            assert name == "list_job_runs"
            return Pages()

    runs = emr_runs_since(Client(), "app", day_start(date(2026, 1, 15)))
    assert [(r.task, r.airflow_run_id, r.map_index, r.run_id) for r in runs] == [
        ("cdc_hourly.merge_tables", "backfill__2026-01-15T01:00:00+00:00", 3, "j0"),
        ("jira_ingestion.build_tables", "manual__x", -1, "j1"),
    ]


PAYMENTS = ("file", "/lake/cdc/shop/payments")
PAYMENTS_LANDING = ("file", "/lake/landing/shop/public/payments")
PAYMENTS_HISTORY = ("postgres://localhost:5432", "warehouse.shop.payments_history")
CANARY = ("postgres://localhost:5432", "warehouse.canary.events")
PAYMENT_COLUMNS = ("payment_id", "amount", "status")


def _day_of_events(day: int, ran_at: str) -> list[dict]:
    """One day's runs as a backfill makes them: the merge of the payments lake table, the load
    of that run's change set (``changes/run=<run>``) into the warehouse, the canary load of the
    day's partition (``event_day=<day>``); ``ran_at`` makes each event (and run id) new."""
    run_folder = ("file", f"{PAYMENTS[1]}/changes/run=backfill__2026-01-{day:02d}T00_00_00_00_00")
    partition = ("file", f"/lake/canary/events/event_day=2026-01-{day:02d}")
    identity = {c: [(*PAYMENTS_LANDING, c)] for c in PAYMENT_COLUMNS}
    return [
        run_event("cdc_merge.shop.payments", [PAYMENTS_LANDING], PAYMENTS, identity, event_time=ran_at),
        run_event(
            "cdc_daily.load_table.load",
            [run_folder],
            PAYMENTS_HISTORY,
            {c: [(*run_folder, c)] for c in PAYMENT_COLUMNS},
            event_time=ran_at,
        ),
        run_event(
            "platform_smoke.load_canary_events",
            [partition],
            CANARY,
            {"event_id": [(*partition, "event_id")]},
            event_time=ran_at,
        ),
    ]


def _edge_rows(result) -> set[tuple]:
    return {
        tuple(e.as_dict()[c] for c in e.as_dict() if c not in ("run_id", "event_time"))
        for e in read_edges(result.edges_json_uri)
    }


def test_a_rerun_or_another_day_of_a_backfill_adds_no_edge(tmp_path) -> None:
    """A backfill reruns each day with new OpenLineage run ids, and each day reads its own
    partition and run folder: the edges are the tables' column mappings, so they do not multiply."""
    raw = tmp_path / "lineage" / "raw"
    raw.mkdir(parents=True)

    def write(name: str, events: list[dict]) -> None:
        (raw / name).write_text("".join(json.dumps(e) + "\n" for e in events))

    write("pass1-day15.jsonl", _day_of_events(15, "2026-01-16T01:00:00+00:00"))
    write("pass1-day16.jsonl", _day_of_events(16, "2026-01-17T01:00:00+00:00"))
    first = process(f"file://{raw}")
    write("pass2-day15.jsonl", _day_of_events(15, "2026-12-01T03:00:00+00:00"))
    write("pass2-day16.jsonl", _day_of_events(16, "2026-12-01T03:05:00+00:00"))
    write("day17.jsonl", _day_of_events(17, "2026-12-01T03:10:00+00:00"))
    again = process(f"file://{raw}")

    assert first.edges == again.edges == 2 * len(PAYMENT_COLUMNS) + 1
    assert _edge_rows(first) == _edge_rows(again)
    loads = {
        (e.source_name, e.target_name)
        for e in read_edges(again.edges_json_uri)
        if e.job_name.endswith("load")
    }
    assert loads == {(PAYMENTS[1], PAYMENTS_HISTORY[1])}  # the run folder is the lake table's
    canary = {e.source_name for e in read_edges(again.edges_json_uri) if e.target_name == CANARY[1]}
    assert canary == {"/lake/canary/events"}  # the partition is its table's
    # the observation columns are the newest run's
    assert {e.event_time for e in read_edges(again.edges_json_uri)} == {"2026-12-01T03:10:00+00:00"}
