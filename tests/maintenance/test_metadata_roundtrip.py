"""The metadata export/import round trip: a local Airflow metadata DB with runs -> export
through the REST API to S3 (moto server) -> a fresh metadata DB -> import -> the same runs,
task instances and states, pools, variables and connections (without their secrets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from data_platform.paths import PLUGINS_DIR, REPO_ROOT
from tests.lake.moto_s3 import aws_lake  # noqa: F401  (fixture)

HERE = Path(__file__).parent


def run_phase(phase: str, export_root: str, home: Path) -> dict[str, list]:
    """Run ``roundtrip_phase.py phase`` in a fresh Airflow home (own sqlite metadata DB)."""
    fresh = not home.exists()
    (home / "dags").mkdir(parents=True, exist_ok=True)
    (home / "dags" / "history_dag.py").write_text((HERE / "history_dag.py").read_text())
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "PYTHONPATH": os.pathsep.join([str(PLUGINS_DIR), str(REPO_ROOT), str(home / "dags")]),
    }
    for command in (["db", "migrate"], ["dags", "reserialize"]) if fresh else ():
        subprocess.run([sys.executable, "-m", "airflow", *command], env=env, cwd=home, check=True,
                       capture_output=True, timeout=600)
    done = subprocess.run([sys.executable, str(HERE / "roundtrip_phase.py"), phase, export_root], env=env,
                          cwd=home, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    printed: dict = {}
    for line in done.stdout.splitlines():
        kind, _, value = line.partition(" ")
        if kind in {"MANIFEST", "IMPORT", "METADATA", "CLEANUP"}:
            printed.setdefault(kind, []).append(json.loads(value))
    return printed


def history(metadata: dict) -> tuple[list, list]:
    runs = sorted((r["dag_id"], r["dag_run_id"], r["logical_date"], r["data_interval_start"],
                   r["data_interval_end"], r["state"]) for r in metadata["dag_runs"])
    tis = sorted((t["dag_id"], t["dag_run_id"], t["task_id"], t["map_index"], t["state"])
                 for t in metadata["task_instances"])
    return runs, tis


def test_export_then_import_into_a_fresh_db_restores_the_history(aws_lake, tmp_path):  # noqa: F811
    export_root = f"{aws_lake}/_airflow_metadata/dev"
    before = run_phase("history", export_root, tmp_path / "old")
    after = run_phase("restore-twice", export_root, tmp_path / "new")

    old_runs, old_tis = history(before["METADATA"][0])
    new_runs, new_tis = history(after["METADATA"][0])
    first, second = after["IMPORT"]
    assert [r[-1] for r in old_runs] == ["success", "failed", "success"]
    assert {t[-1] for t in old_tis} == {"success", "failed", "skipped"}
    assert new_runs == old_runs
    assert new_tis == old_tis
    for result in (first, second):  # the second import converges on the same state
        assert result["not_restored"] == []
        assert result["dag_runs"] == 3 and result["task_instances"] == 9

    manifest = before["MANIFEST"][0]
    assert manifest["files"]["dag_runs.json"]["count"] == 3
    assert manifest["withheld"] == {"variables": ["jira_api_key"], "connections": {"reporting_db": ["password"]}}
    new = after["METADATA"][0]
    assert {v["key"]: v["value"] for v in new["variables"]} == {"report_recipients": "data-eng@example.com"}
    assert {p["name"]: p["slots"] for p in new["pools"]}["warehouse"] == 3
    restored = {c["connection_id"]: c for c in new["connections"]}["reporting_db"]
    assert restored["host"] == "db.example.com"
    assert first["connections_created"] == ["reporting_db"] and second["connections_created"] == []
    assert {d["dag_id"]: d["is_paused"] for d in new["dags"]} == {d["dag_id"]: d["is_paused"]
                                                                   for d in before["METADATA"][0]["dags"]}


def test_db_clean_dry_run_first_then_cleanup_through_the_cli(tmp_path):
    home = tmp_path / "old"
    before = run_phase("history", f"file://{tmp_path}/exports", home)["METADATA"][0]
    assert len(before["dag_runs"]) == 3
    after = run_phase("cleanup", "-", home)
    outputs = after["CLEANUP"][0]
    assert set(outputs) == {"dry_run", "clean", "drop_archived"}
    assert "dag_run" in outputs["dry_run"] and "3" in outputs["dry_run"], outputs["dry_run"]
    # db clean keeps each DAG's latest scheduled run only; these are manual runs: all go
    assert after["METADATA"][0]["dag_runs"] == [] and after["METADATA"][0]["task_instances"] == []
