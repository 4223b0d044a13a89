"""CheckWarehouseTableOperator: YAML rules through SQLTableCheckOperator, failing rule + sample rows + alert."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException

from data_platform.alerting.channels import local_alerts_file
from data_platform.config import ConfigError
from data_platform.warehouse.operators import CheckWarehouseTableOperator
from tests.warehouse.conftest import task_context

TABLE = "dq_test.items"


@pytest.fixture
def items(warehouse):
    """A small table without constraints, so every kind of bad row can exist."""
    warehouse.execute(
        """
        CREATE SCHEMA dq_test;
        CREATE TABLE dq_test.items (id BIGINT, code TEXT, status TEXT, price NUMERIC(10,2),
                                    updated_at TIMESTAMP, changed_at TIMESTAMPTZ);
        INSERT INTO dq_test.items VALUES
          (1, 'a', 'new', 1.00, '2024-01-01 20:00', '2024-01-01 20:00+00'),
          (2, 'b', 'done', 99.00, '2024-01-01 23:00', '2024-01-01 23:00+00'),
          (3, 'c', 'done', 50.00, '2024-01-01 10:00', '2024-01-01 10:00+00');
        """
    )
    return warehouse


def rules(*items: dict) -> dict:
    return {"rules": list(items)}


GOOD_RULES = rules(
    {"type": "row_count", "equals": "source"},
    {"type": "primary_key", "columns": ["id"]},
    {"type": "primary_key", "columns": ["id", "code"], "name": "id_code_unique"},
    {"type": "not_null", "columns": ["code", "status"]},
    {"type": "accepted_values", "column": "status", "values": ["new", "done"]},
    {"type": "range", "column": "price", "min": 0, "max": 100},
    {"type": "freshness", "column": "updated_at", "max_age_hours": 6},
    {"type": "freshness", "column": "changed_at", "max_age_hours": 6},
)


def check(rules_, **kwargs) -> CheckWarehouseTableOperator:
    return CheckWarehouseTableOperator(task_id="check_items", table=TABLE, rules=rules_, **kwargs)


def test_all_rules_pass_and_summary_is_returned(items):
    summary = check(GOOD_RULES, source_row_count="3").execute(task_context())

    assert summary["checks_total"] == summary["checks_passed"] == 9  # not_null expands per column
    assert summary["checks_failed"] == [] and summary["rows_in"] == 3 and summary["rows_out"] == 3


@pytest.mark.parametrize(
    ("bad_rows", "rule", "rule_type", "sample"),
    [
        ("", {"type": "row_count", "equals": 4}, "row_count", "'row_count': '3'"),
        (
            "INSERT INTO dq_test.items VALUES (2, 'z', 'new', 1, now(), now())",
            {"type": "primary_key", "columns": ["id"]},
            "primary_key",
            "'id': '2', 'occurrences': '2'",
        ),
        (
            "INSERT INTO dq_test.items VALUES (NULL, 'z', 'new', 1, now(), now())",
            {"type": "primary_key", "columns": ["id", "code"]},
            "primary_key",
            "'id': 'None', 'code': 'z'",
        ),
        (
            "INSERT INTO dq_test.items VALUES (4, NULL, 'new', 1, now(), now())",
            {"type": "not_null", "columns": ["code"]},
            "not_null",
            "'id': '4'",
        ),
        (
            "INSERT INTO dq_test.items VALUES (4, 'd', 'lost', 1, now(), now())",
            {"type": "accepted_values", "column": "status", "values": ["new", "done"]},
            "accepted_values",
            "'status': 'lost'",
        ),
        (
            "INSERT INTO dq_test.items VALUES (4, 'd', 'new', -5, now(), now())",
            {"type": "range", "column": "price", "min": 0, "max": 100},
            "range",
            "'price': '-5.00'",
        ),
        (
            "",
            {"type": "freshness", "column": "updated_at", "max_age_hours": 0.5},
            "freshness",
            "'latest': '2024-01-01 23:00:00'",
        ),
        (
            "INSERT INTO dq_test.items VALUES (4, 'd', 'new', 1, '2999-01-01 00:00', now())",
            {"type": "not_in_future", "column": "updated_at", "tolerance_minutes": 5},
            "not_in_future",
            "'updated_at': '2999-01-01 00:00:00'",
        ),
    ],
)
def test_a_failing_rule_fails_the_task_with_the_rule_and_sample_rows(
    items, bad_rows, rule, rule_type, sample
):
    if bad_rows:
        items.execute(bad_rows)
    context = task_context()

    with pytest.raises(AirflowFailException) as failure:
        check(rules(rule, {"type": "not_null", "columns": ["status"]})).execute(context)

    message = str(failure.value)
    assert f"[{rule_type}]" in message and "1 of 2 rule(s) failed" in message
    assert sample in message
    summary = context["ti"].pushed["check_summary"]
    assert summary["checks_passed"] == 1 and summary["checks_total"] == 2
    alert = json.loads(local_alerts_file().read_text().splitlines()[-1])
    assert "Data-quality check failed on dq_test.items" in alert["subject"]
    assert alert["details"]["failed"] == summary["checks_failed"]


def test_partition_clause_and_rule_where_limit_the_checked_rows(items):
    items.execute("INSERT INTO dq_test.items VALUES (9, 'x', 'lost', 1, '2023-06-01', '2023-06-01+00')")
    scoped = check(
        rules(
            {"type": "row_count", "equals": "source"},
            {"type": "accepted_values", "column": "status", "values": ["new", "done"], "where": "id < 9"},
        ),
        source_row_count=4,
        partition_clause="updated_at >= '2023-01-01'",
    )
    assert scoped.execute(task_context())["checks_passed"] == 2


def test_the_demo_rules_file_runs_against_a_loaded_demo_table(warehouse):
    from data_platform.warehouse.operators import LoadToWarehouseOperator
    from tests.warehouse.conftest import event

    uri = warehouse.parquet("cdc/events/f1.parquet", [event(1), event(2, event_type="purchase")])
    loaded = LoadToWarehouseOperator(
        task_id="load", table="demo.events", source_uris=[uri], primary_key=["event_id"], delete_column="op"
    ).execute(task_context())
    task = CheckWarehouseTableOperator(
        task_id="check", table="demo.events", rules="demo.events", source_row_count=str(loaded["rows_in"])
    )

    assert task.execute(task_context())["checks_passed"] == 10
    lineage = task.get_openlineage_facets_on_complete(None)
    (dataset,) = lineage.inputs
    assert dataset.name == "warehouse.demo.events" and dataset.namespace.startswith("postgres://")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (rules({"type": "row_count", "equals": "source"}), "needs source_row_count"),
        (rules({"type": "uniqueish", "column": "id"}), "'uniqueish'.*expected tags: 'row_count'"),
        (rules({"type": "not_null", "columns": ["nope"]}), "'nope' is not in the table"),
        (rules({"type": "range", "column": "price"}), "min and/or max"),
        (rules({"type": "accepted_values", "column": "status", "values": ["a\\b"]}), "backslash"),
        ({"not_rules": []}, "'rules:' list"),
    ],
)
def test_invalid_rules_are_reported_with_their_origin(items, bad, message):
    with pytest.raises(ConfigError, match=message):
        check(bad).execute(task_context())
