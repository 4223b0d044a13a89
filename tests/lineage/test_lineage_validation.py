"""OpenLineage events against the schema; rejected events keep their text and reason."""

from __future__ import annotations

import json

import pytest
from events import run_event

from data_platform.lineage.validation import parse_events, problems, spec_version

LAKE = "file"


def _event() -> dict:
    return run_event(
        "cdc_merge.shop.orders",
        [(LAKE, "/lake/landing/shop/public/orders")],
        (LAKE, "/lake/cdc/shop/orders"),
        {"amount": [(LAKE, "/lake/landing/shop/public/orders", "amount")]},
        parent_job="cdc_hourly.merge_tables",
    )


def test_event_of_openlineage_python_is_valid() -> None:
    assert problems(_event()) == []


def test_events_of_every_platform_producer_are_valid(tmp_path) -> None:
    """The spark_jobs emitter (file transport) and the catalog push build valid events."""
    from datetime import UTC, datetime

    from openlineage.client.serde import Serde

    from data_platform.lineage.catalog import column_lineage_events
    from data_platform.lineage.columns import edges_of_event
    from spark_jobs.common.lineage import LineageDataset, LineageEmitter

    log_file = tmp_path / "events.jsonl"
    emitter = LineageEmitter.from_environment(
        transport={"type": "file", "log_file_path": str(log_file), "append": True}, namespace="tests"
    )
    assert emitter.emit(
        "COMPLETE",
        "cdc_merge.shop.orders",
        "run-1",
        [LineageDataset.from_uri("file:///lake/landing/shop/public/orders")],
        [LineageDataset.from_uri("file:///lake/cdc/shop/orders")],
    )
    stored = [json.loads(line) for line in log_file.read_text().splitlines()]
    pushed = [
        json.loads(Serde.to_json(e))
        for e in column_lineage_events(edges_of_event(_event()), datetime.now(UTC))
    ]
    assert stored and pushed
    for event in stored + pushed:
        assert problems(event) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e["run"].update(runId="not-a-uuid"), "run/runId"),
        (lambda e: e.pop("job"), "'job' is a required property"),
        (lambda e: e.update(eventTime="yesterday"), "eventTime"),
        (
            lambda e: e.update(
                schemaURL="https://openlineage.io/spec/3-0-0/OpenLineage.json#/$defs/RunEvent"
            ),
            "3-0-0",
        ),
        (
            lambda e: e["outputs"][0]["facets"]["columnLineage"]["fields"]["amount"]["inputFields"][0].pop(
                "field"
            ),
            "field",
        ),
    ],
)
def test_bad_events_are_rejected_with_the_reason(change, reason) -> None:
    event = _event()
    change(event)
    found = problems(event)
    assert found and any(reason in p for p in found), found


def test_parse_keeps_every_line_valid_or_rejected() -> None:
    good = json.dumps(_event())
    bad = _event()
    bad["run"]["runId"] = "x"
    text = "\n".join([good, "{not json", json.dumps(bad), good]) + "\n"
    valid, rejected = parse_events(text, "file:///raw/a.jsonl")
    assert len(valid) == 2
    assert [(r.line, r.reason.split(":")[0]) for r in rejected] == [(2, "not JSON"), (3, "run/runId")]
    assert rejected[0].text == "{not json"


def test_single_event_file() -> None:
    valid, rejected = parse_events(json.dumps(_event(), indent=2), "file:///raw/event-1.json")
    assert len(valid) == 1 and rejected == []


def test_spec_version() -> None:
    assert spec_version("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent") == "2-0-2"
    assert spec_version("https://example.com/OpenLineage.json") is None
