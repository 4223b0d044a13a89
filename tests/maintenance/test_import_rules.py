"""Import rules that need no Airflow: what is skipped and reported, and the importing DAG left alone."""

from __future__ import annotations

from typing import Any

from data_platform.maintenance.metadata_export import import_metadata


class RecordingApi:
    """An AirflowApi with two DAGs and no connections that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def call(self, method: str, path: str, body: dict | None = None, query: dict | None = None) -> dict:
        self.calls.append((method, path, body))
        if path == "/dags":
            return {"dags": [{"dag_id": "sales"}, {"dag_id": "airflow_metadata_import"}], "total_entries": 2}
        if path == "/connections":
            return {"connections": [], "total_entries": 0}
        if path.endswith("/tasks"):
            return {"tasks": [{"task_id": "a", "downstream_task_ids": ["b"]}, {"task_id": "b"}]}
        return {}


def _run(dag_id: str, run_id: str, state: str) -> dict:
    return {"dag_id": dag_id, "dag_run_id": run_id, "state": state, "logical_date": "2026-01-01T00:00:00Z",
            "data_interval_start": None, "data_interval_end": None, "run_after": "2026-01-01T00:00:00Z",
            "conf": {}, "note": None}


def test_unfinished_foreign_and_own_runs_are_reported_and_tasks_go_upstream_first():
    api = RecordingApi()
    data = {
        "pools": [], "variables": [], "connections": [],
        "dags": [{"dag_id": "sales", "is_paused": False}, {"dag_id": "airflow_metadata_import", "is_paused": True}],
        "dag_runs": [_run("sales", "r1", "success"), _run("sales", "r2", "running"), _run("gone", "r3", "success"),
                     _run("airflow_metadata_import", "r4", "success")],
        "task_instances": [
            {"dag_id": "sales", "dag_run_id": "r1", "task_id": "b", "map_index": -1, "state": "upstream_failed"},
            {"dag_id": "sales", "dag_run_id": "r1", "task_id": "a", "map_index": -1, "state": "failed"},
        ],
    }
    result = import_metadata(api, data, keep_paused_flag=frozenset({"airflow_metadata_import"}))

    reasons = {tuple(item.get("dag_run") or item["task_instance"]): item["reason"] for item in result.not_restored}
    assert reasons == {
        ("sales", "r2"): "the run had not finished when exported",
        ("gone", "r3"): "the environment has no such DAG",
        ("airflow_metadata_import", "r4"): "a run of the importing DAG (unpaused while it runs)",
        ("sales", "r1", "b", -1): "state 'upstream_failed' cannot be set through the API",
    }
    assert result.dag_runs == 1 and result.task_instances == 1
    writes = [(m, p, b) for m, p, b in api.calls if m != "GET"]
    assert writes == [
        ("PATCH", "/dags/sales", {"is_paused": True}),
        ("POST", "/dags/sales/dagRuns", {"dag_run_id": "r1", "logical_date": "2026-01-01T00:00:00Z",
                                         "run_after": "2026-01-01T00:00:00Z", "conf": {}, "note": None}),
        ("PATCH", "/dags/sales/dagRuns/r1/taskInstances/a", {"new_state": "failed"}),
        ("PATCH", "/dags/sales/dagRuns/r1", {"state": "success"}),
        ("PATCH", "/dags/sales", {"is_paused": False}),
    ]
