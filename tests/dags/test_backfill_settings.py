"""Every DAG file chooses its catch-up and concurrency on purpose (Airflow's defaults differ
between versions and from MWAA's configuration), and reads its day from the run's data
interval rather than a logical-date-only template (``ds``/``logical_date`` are unset for an
Airflow 3 manual run triggered without a logical date)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DAG_FILES = sorted((Path(__file__).resolve().parents[2] / "dags").glob("*.py"))


def _dag_keywords(path: Path) -> list[set[str]]:
    calls = [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "DAG"
    ]
    return [{k.arg for k in call.keywords if k.arg} for call in calls]


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_each_dag_sets_catchup_and_max_active_runs(path):
    dags = _dag_keywords(path)
    assert dags, f"{path.name} defines no DAG(...)"
    for keywords in dags:
        assert {"catchup", "max_active_runs"} <= keywords, f"{path.name}: set catchup and max_active_runs"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_no_logical_date_only_templates(path):
    text = path.read_text()
    for template in ("{{ ds", "{{ds", "{{ logical_date", "{{ ts", "{{ execution_date"):
        assert template not in text, f"{path.name} uses {template!r}: use the run's data interval"
