"""Jira column lineage: the transform job's own facet (API fields -> lake tables), continued by
the warehouse loads, walked back through the processing job's table."""

from __future__ import annotations

import json

from events import run_event

from data_platform.lineage.graph import build_graph, find_columns, walk
from data_platform.lineage.processing import process, read_edges
from data_platform.lineage.validation import problems
from spark_jobs.common.lineage import LineageDataset, LineageEmitter, ParentRun
from spark_jobs.jira.flatten import STATUS_HISTORY_COLUMNS, FieldMap
from spark_jobs.jira.layout import SiteLayout
from spark_jobs.jira.lineage import issue_sources, output_datasets, table_lineage
from spark_jobs.jira.sync_lineage import emit_sync_lineage, sync_datasets
from spark_jobs.jira.transform import RAW_COLUMNS, TABLES

CATALOG = [
    {"id": "summary", "name": "Summary", "custom": False},
    {"id": "customfield_10016", "name": "Story point estimate", "custom": True},
    {
        "id": "customfield_10020",
        "name": "Sprint",
        "custom": True,
        "schema": {"custom": "com.pyxis.greenhopper.jira:gh-sprint"},
    },
    {"id": "customfield_10100", "name": "Team", "custom": True},
]
SITE = "/lake/jira/acme"
PARENT_RUN_ID = "019bbf2a-9e80-7aee-aedf-0d1f65d0909f"
WAREHOUSE = "postgres://localhost:5432"


def test_every_column_of_every_table_has_sources() -> None:
    field_map = FieldMap.from_catalog(CATALOG)
    landing = LineageDataset("file", f"{SITE}/landing")
    lineage = table_lineage(landing, field_map)
    assert set(lineage) == set(TABLES)
    for name, (mapping, columns) in lineage.items():
        assert set(mapping) == {column for column, _ in columns}, name
    assert [c for c, _ in lineage["issues_raw"][1]] == [c for c, _ in RAW_COLUMNS]
    assert [c for c, _ in lineage["status_history"][1]] == [c for c, _ in STATUS_HISTORY_COLUMNS]
    sources = issue_sources(landing, field_map)
    assert [s.field for s in sources["story_points"]] == ["issue.fields.customfield_10016"]
    assert [s.field for s in sources["sprint"]] == ["issue.fields.customfield_10020.name"]
    assert [s.field for s in sources["cf_team"]] == ["issue.fields.customfield_10100"]


def _emit_transform(tmp_path, monkeypatch) -> list[dict]:
    log_file = tmp_path / "spark-events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(log_file))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    landing = LineageDataset.from_uri(f"file://{SITE}/landing")
    tables = {name: LineageDataset.from_uri(f"file://{SITE}/tables/{name}") for name in TABLES}
    outputs = output_datasets(landing, tables, FieldMap.from_catalog(CATALOG))
    parent = ParentRun("airflow", "jira_ingestion.build_tables", PARENT_RUN_ID)
    emitter = LineageEmitter.from_environment(parent=parent)
    assert emitter.emit("COMPLETE", "jira_transform.acme", "r1", [landing], outputs)
    api, landed = sync_datasets("https://acme.atlassian.net", landing, FieldMap.from_catalog(CATALOG))
    assert LineageEmitter.from_environment().emit("COMPLETE", "jira_sync.acme", "s1", api, [landed])
    return [json.loads(line) for line in log_file.read_text().splitlines()]


def test_warehouse_columns_walk_back_to_the_jira_fields(tmp_path, monkeypatch) -> None:
    [transform, sync_event] = _emit_transform(tmp_path, monkeypatch)
    # the loads read one run's files below the table folders (LoadToWarehouseOperator's facet)
    issues_files = ("file", f"{SITE}/tables/issues_changes/run=r1")
    history_files = ("file", f"{SITE}/tables/status_history/run=r1")
    assert problems(transform) == problems(sync_event) == []
    # the Spark agent, same task run: it pairs the built rows' columns with the files read by name
    sync = ("file", f"{SITE}/landing/sync_date=2026-01-15/sync_id=s1")
    agent = run_event(
        "jira_transform.adaptive_spark_plan.issues_changes",
        [sync],
        issues_files,
        {"status": [(*sync, "status")]},
        producer="https://github.com/OpenLineage/OpenLineage/tree/1.27.0/integration/spark",
        parent_job="jira_ingestion.build_tables",
    )
    # its query events name the Spark application's run as parent, whose parent is the task run
    application = run_event(
        "jira_transform",
        [],
        ("file", "/unused"),
        {},
        producer=agent["producer"],
        parent_job="jira_ingestion.build_tables",
    )
    application["run"]["facets"]["parent"]["run"]["runId"] = PARENT_RUN_ID
    agent["run"]["facets"]["parent"]["run"]["runId"] = application["run"]["runId"]
    others = [  # the agent and the loads
        application,
        agent,
        run_event(
            "jira_ingestion.load_issues",
            [issues_files],
            (WAREHOUSE, "warehouse.jira.issues"),
            {c: [(*issues_files, c)] for c in ("status", "cf_team", "story_points")},
            event_time="2026-01-15T02:00:00+00:00",
        ),
        run_event(
            "jira_ingestion.load_status_history",
            [history_files],
            (WAREHOUSE, "warehouse.jira.status_history"),
            {"to_status": [(*history_files, "to_status")]},
            event_time="2026-01-15T02:00:00+00:00",
        ),
    ]
    raw = tmp_path / "lineage" / "raw"
    raw.mkdir(parents=True)
    for index, event in enumerate([transform, sync_event, *others]):
        (raw / f"event-{index}.json").write_text(json.dumps(event))

    result = process(f"file://{raw}")
    assert (result.events_valid, result.events_rejected) == (6, 0)
    graph = build_graph(read_edges(result.edges_json_uri))

    def origins(table: str, column: str, depth: int = 2) -> set[tuple[str, str, str, str]]:
        [start] = find_columns(graph, table, column)
        steps = walk(graph, start, "upstream")
        return {(s.source[1], s.source[2], s.transformation, s.subtype) for s in steps if s.depth == depth}

    landing = f"{SITE}/landing"
    assert origins("jira.issues", "status") == {(landing, "issue.fields.status.name", "DIRECT", "IDENTITY")}
    assert origins("jira.issues", "cf_team") == {
        (landing, "issue.fields.customfield_10100", "DIRECT", "TRANSFORMATION")
    }
    assert origins("jira.issues", "story_points") == {
        (landing, "issue.fields.customfield_10016", "DIRECT", "IDENTITY")
    }
    assert origins("jira.status_history", "to_status") == {
        (landing, "issue.changelog.histories.items.toString", "DIRECT", "IDENTITY"),
        (landing, "history.items.toString", "DIRECT", "IDENTITY"),
    }
    # one step further: the Jira Cloud REST API the sync read
    search, changelog = "/rest/api/3/search/jql", "/rest/api/3/issue/{issueIdOrKey}/changelog"
    assert origins("jira.issues", "status", 3) == {(search, "fields.status.name", "DIRECT", "IDENTITY")}
    assert origins("jira.status_history", "to_status", 3) == {
        (search, "changelog.histories.items.toString", "DIRECT", "IDENTITY"),
        (changelog, "values.items.toString", "DIRECT", "IDENTITY"),
    }


def test_the_sync_event_names_the_api_and_the_landing(tmp_path, monkeypatch) -> None:
    log_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(log_file))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    layout = SiteLayout(f"file://{tmp_path}/lake", "acme")
    folder = tmp_path / "lake/jira/acme/landing/sync_date=2026-01-15/sync_id=s1"
    folder.mkdir(parents=True)
    (folder / "fields.json").write_text(json.dumps(CATALOG))
    assert emit_sync_lineage("https://acme.atlassian.net/", layout, "2026-01-15", "s1")
    event = json.loads(log_file.read_text())
    assert problems(event) == []
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
        ("https://acme.atlassian.net", "/rest/api/3/search/jql"),
        ("https://acme.atlassian.net", "/rest/api/3/issue/{issueIdOrKey}/changelog"),
    ]
    [landing] = event["outputs"]
    assert landing["name"] == f"{tmp_path}/lake/jira/acme/landing"
    points = landing["facets"]["columnLineage"]["fields"]["issue.fields.customfield_10016"]["inputFields"]
    assert [f["field"] for f in points] == ["fields.customfield_10016"]
