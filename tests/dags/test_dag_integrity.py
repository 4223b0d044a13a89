"""Every DAG file imports cleanly, cheaply and offline, and carries the metadata operators need."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO_ROOT / "dags"


@pytest.fixture(scope="module")
def parsed() -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT / "plugins"), str(REPO_ROOT)]))
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("parse_dags.py")), str(DAGS_FOLDER)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_import_errors(parsed):
    assert parsed["import_errors"] == {}


def test_every_dag_file_defines_a_dag(parsed):
    files_with_dags = {Path(d["fileloc"]).name for d in parsed["dags"].values()}
    dag_files = {p.name for p in DAGS_FOLDER.glob("*.py") if not p.name.startswith("_")}
    assert dag_files <= files_with_dags, f"files without a DAG: {dag_files - files_with_dags}"


def test_dag_files_import_no_heavy_modules(parsed):
    assert parsed["heavy_modules"] == [], (
        "DAG parsing imported heavy modules; import them inside task code or operator methods"
    )


def test_every_dag_has_description_and_tags(parsed):
    for dag_id, dag in parsed["dags"].items():
        assert dag["description"], f"{dag_id}: set description="
        assert dag["tags"], f"{dag_id}: set tags="


def test_every_task_has_an_owner_and_retries(parsed):
    for dag_id, dag in parsed["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["owner"] not in (None, "", "airflow"), f"{dag_id}.{task_id}: set an owner"
            assert task["retries"] >= 1, f"{dag_id}.{task_id}: set retries >= 1"
