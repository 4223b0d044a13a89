"""Export an environment's Airflow metadata to the lake, and import it into a fresh environment.

The cost-saving pattern of deleting non-production MWAA environments at night needs the metadata
to survive (reference: AWS "Automating stopping and starting Amazon MWAA environments"). Airflow 3
tasks may not open the metadata DB, so both directions go through the public REST API v2
(:mod:`data_platform.maintenance.airflow_api`: MWAA ``InvokeRestApi`` on aws, HTTP locally).

Export (``export_metadata``) writes one JSON file per kind under ``<root>/<export_id>/``:
``dags.json`` (dag_id, is_paused), ``variables.json``, ``pools.json``, ``connections.json``
(never a password; extra keys the API redacts are left out and listed), ``dag_runs.json`` and
``task_instances.json`` (as the API returns them), then ``_manifest.json`` with each file's
SHA-256 and count: an export without a manifest is incomplete and never imported.

Import (``import_metadata``) into an environment running the same DAGs:

- pools and variables are created or overwritten; connections are created only where the
  environment has none of that id (its own carry the secrets the export lacks);
- finished DAG runs (``success``/``failed``) are created with their run id, logical date and data
  interval (``POST /dags/{dag_id}/dagRuns``, while the DAG is paused so the scheduler never starts
  them), their task instances set to their exported state in dependency order
  (``PATCH .../taskInstances/{task_id}[/{map_index}]``) and the run set to its state;
  then each DAG gets its exported paused flag back. The importing DAG's own runs and paused flag
  are left alone (it is running, unpaused). Rerunning an import converges.

What the public API cannot restore is reported, never silently dropped (the export in the lake
keeps it all): the run type (imported runs are ``manual``), start/end dates, durations and try
numbers; task instance states other than success/failed/skipped (``upstream_failed`` becomes
``skipped``); mapped task instances (the API creates no task instances); runs of DAGs the
environment does not have; runs not finished at export time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

from data_platform.lake.storage import exists, join, list_files, read_bytes, write_bytes
from data_platform.maintenance.airflow_api import AirflowApi, AirflowApiError, paged

MANIFEST = "_manifest.json"
REDACTED = "***"
FINISHED_RUN_STATES = ("success", "failed")
SETTABLE_TI_STATES = ("success", "failed", "skipped")
RUN_FIELDS = ("dag_id", "dag_run_id", "logical_date", "data_interval_start", "data_interval_end",
              "run_after", "run_type", "state", "start_date", "end_date", "conf", "note")
TI_FIELDS = ("dag_id", "dag_run_id", "task_id", "map_index", "state", "start_date", "end_date",
             "duration", "try_number", "note")


def _dump(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True, default=str).encode()


def _connection_without_secrets(connection: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The connection's fields minus the password and redacted extra keys; the removed names."""
    removed = ["password"] if connection.get("password") else []
    kept = {k: connection.get(k) for k in ("connection_id", "conn_type", "description", "host", "login",
                                           "schema", "port")}
    extra = connection.get("extra")
    if extra:
        try:
            parsed = json.loads(extra)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            removed += [f"extra.{k}" for k, v in parsed.items() if v == REDACTED]
            kept["extra"] = json.dumps({k: v for k, v in parsed.items() if v != REDACTED}, sort_keys=True)
        elif extra != REDACTED:
            kept["extra"] = extra
        else:
            removed.append("extra")
    return kept, removed


def collect_metadata(api: AirflowApi) -> dict[str, Any]:
    """Everything the export writes, read from ``api``: ``{kind: [records]}`` plus ``withheld``
    (variables whose value and connection fields whose content the API redacts)."""
    dags = [{"dag_id": d["dag_id"], "is_paused": d["is_paused"]} for d in paged(api, "/dags", "dags")]
    variables, withheld_variables = [], []
    for variable in paged(api, "/variables", "variables"):
        if variable.get("value") == REDACTED:
            withheld_variables.append(variable["key"])
        else:
            variables.append({k: variable.get(k) for k in ("key", "value", "description")})
    pools = [{k: p.get(k) for k in ("name", "slots", "description", "include_deferred")}
             for p in paged(api, "/pools", "pools")]
    connections, withheld_connections = [], {}
    for connection in paged(api, "/connections", "connections"):
        kept, removed = _connection_without_secrets(connection)
        connections.append(kept)
        if removed:
            withheld_connections[connection["connection_id"]] = removed
    runs = [{k: r.get(k) for k in RUN_FIELDS}
            for r in paged(api, "/dags/~/dagRuns", "dag_runs", {"order_by": "id"})]
    tis = [{k: t.get(k) for k in TI_FIELDS}
           for t in paged(api, "/dags/~/dagRuns/~/taskInstances", "task_instances", {"order_by": "id"})]
    return {
        "dags": dags, "variables": variables, "pools": pools, "connections": connections,
        "dag_runs": runs, "task_instances": tis,
        "withheld": {"variables": withheld_variables, "connections": withheld_connections},
    }


def export_metadata(api: AirflowApi, root_uri: str, export_id: str) -> dict[str, Any]:
    """Write the metadata of ``api``'s environment to ``<root_uri>/<export_id>/``; returns the
    manifest (``files``: name -> {sha256, count}, ``withheld``). The manifest is written last."""
    data = collect_metadata(api)
    folder = join(root_uri, export_id)
    files: dict[str, dict[str, Any]] = {}
    for kind, records in data.items():
        if kind == "withheld":
            continue
        body = _dump(records)
        write_bytes(join(folder, f"{kind}.json"), body)
        files[f"{kind}.json"] = {"sha256": hashlib.sha256(body).hexdigest(), "count": len(records)}
    manifest = {"export_id": export_id, "files": files, "withheld": data["withheld"]}
    write_bytes(join(folder, MANIFEST), _dump(manifest))
    return manifest


def latest_export(root_uri: str) -> str:
    """The last (sorted) export id under ``root_uri`` that has a manifest."""
    export_ids = {f.uri[len(root_uri):].strip("/").split("/")[0] for f in list_files(root_uri)}
    complete = sorted(e for e in export_ids if exists(join(root_uri, e, MANIFEST)))
    if not complete:
        raise FileNotFoundError(f"No complete metadata export (with {MANIFEST}) under {root_uri}.")
    return complete[-1]


def read_export(folder_uri: str) -> dict[str, Any]:
    """The records of the export at ``folder_uri``, each file checked against the manifest."""
    manifest_uri = join(folder_uri, MANIFEST)
    if not exists(manifest_uri):
        raise FileNotFoundError(f"{manifest_uri} is missing: the export is incomplete; export again.")
    manifest = json.loads(read_bytes(manifest_uri))
    data: dict[str, Any] = {}
    for name, expected in manifest["files"].items():
        body = read_bytes(join(folder_uri, name))
        if hashlib.sha256(body).hexdigest() != expected["sha256"]:
            raise ValueError(f"{join(folder_uri, name)} does not match its SHA-256 in {manifest_uri}.")
        data[name.removesuffix(".json")] = json.loads(body)
    return data


@dataclass
class ImportResult:
    """What an import did and what it could not restore (``not_restored``: record -> reason)."""

    pools: int = 0
    variables: int = 0
    connections_created: list[str] = field(default_factory=list)
    dag_runs: int = 0
    task_instances: int = 0
    not_restored: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pools": self.pools, "variables": self.variables,
            "connections_created": self.connections_created, "dag_runs": self.dag_runs,
            "task_instances": self.task_instances, "not_restored": self.not_restored,
        }


def _bulk_create(api: AirflowApi, path: str, entities: list[dict[str, Any]], on_existence: str) -> dict[str, Any]:
    if not entities:
        return {}
    body = {"actions": [{"action": "create", "entities": entities, "action_on_existence": on_existence}]}
    answer = api.call("PATCH", path, body)
    errors = (answer.get("create") or {}).get("errors") or []
    if errors:
        raise AirflowApiError("PATCH", path, 200, errors)
    return answer


def _task_order(api: AirflowApi, dag_id: str) -> dict[str, int]:
    """Position of each task of ``dag_id`` in a topological order (upstream tasks first)."""
    tasks = api.call("GET", f"/dags/{dag_id}/tasks").get("tasks") or []
    graph: dict[str, set[str]] = {t["task_id"]: set() for t in tasks}
    for task in tasks:
        for downstream in task.get("downstream_task_ids") or []:
            graph.setdefault(downstream, set()).add(task["task_id"])
    return {task_id: i for i, task_id in enumerate(TopologicalSorter(graph).static_order())}


def _create_run(api: AirflowApi, run: dict[str, Any]) -> None:
    body = {k: run.get(k) for k in ("dag_run_id", "logical_date", "data_interval_start",
                                    "data_interval_end", "run_after", "conf", "note")}
    if body["data_interval_start"] is None or body["data_interval_end"] is None:
        body.pop("data_interval_start")
        body.pop("data_interval_end")
    try:
        api.call("POST", f"/dags/{run['dag_id']}/dagRuns", body)
    except AirflowApiError as err:
        if err.status != 409:  # 409: the run exists (an earlier import): converge its states
            raise


def _set_ti_state(api: AirflowApi, ti: dict[str, Any]) -> str | None:
    """Set one task instance's state; None when done, else why it was not restored."""
    if ti["state"] not in SETTABLE_TI_STATES:
        return f"state {ti['state']!r} cannot be set through the API"
    path = f"/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}"
    if ti["map_index"] >= 0:
        path += f"/{ti['map_index']}"
    try:
        api.call("PATCH", path, {"new_state": ti["state"]})
    except AirflowApiError as err:
        if err.status == 404:
            return "no such task instance in the environment (mapped task instances are not created by the API)"
        if err.status != 409:  # 409: already in that state
            raise
    return None


def _import_run(api: AirflowApi, run: dict[str, Any], tis: list[dict[str, Any]], order: dict[str, int],
                result: ImportResult) -> None:
    _create_run(api, run)
    for ti in sorted(tis, key=lambda t: (order.get(t["task_id"], len(order)), t["map_index"])):
        reason = _set_ti_state(api, ti)
        if reason:
            result.not_restored.append({"task_instance": [ti["dag_id"], ti["dag_run_id"], ti["task_id"],
                                                          ti["map_index"]], "state": ti["state"], "reason": reason})
        else:
            result.task_instances += 1
    path = f"/dags/{run['dag_id']}/dagRuns/{run['dag_run_id']}"
    try:
        api.call("PATCH", path, {"state": run["state"]})
    except AirflowApiError as err:
        if err.status != 409:
            raise
    result.dag_runs += 1


def import_metadata(api: AirflowApi, data: dict[str, Any], keep_paused_flag: frozenset[str] = frozenset()) -> ImportResult:
    """Import an export (``read_export``'s records) into ``api``'s environment; see the module doc.
    The DAGs of ``keep_paused_flag`` (the importing DAG itself) keep their paused flag."""
    result = ImportResult()
    _bulk_create(api, "/pools", data["pools"], "overwrite")
    result.pools = len(data["pools"])
    _bulk_create(api, "/variables", data["variables"], "overwrite")
    result.variables = len(data["variables"])
    existing = {c["connection_id"] for c in paged(api, "/connections", "connections")}
    new_connections = [c for c in data["connections"] if c["connection_id"] not in existing]
    _bulk_create(api, "/connections", [{k: v for k, v in c.items() if v is not None} for c in new_connections],
                 "skip")
    result.connections_created = sorted(c["connection_id"] for c in new_connections)

    present = {d["dag_id"] for d in paged(api, "/dags", "dags")}
    tis_by_run: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ti in data["task_instances"]:
        tis_by_run.setdefault((ti["dag_id"], ti["dag_run_id"]), []).append(ti)
    runs_by_dag: dict[str, list[dict[str, Any]]] = {}
    for run in data["dag_runs"]:
        if run["dag_id"] not in present:
            result.not_restored.append({"dag_run": [run["dag_id"], run["dag_run_id"]],
                                        "reason": "the environment has no such DAG"})
        elif run["dag_id"] in keep_paused_flag:
            result.not_restored.append({"dag_run": [run["dag_id"], run["dag_run_id"]],
                                        "reason": "a run of the importing DAG (unpaused while it runs)"})
        elif run["state"] not in FINISHED_RUN_STATES:
            result.not_restored.append({"dag_run": [run["dag_id"], run["dag_run_id"]], "state": run["state"],
                                        "reason": "the run had not finished when exported"})
        else:
            runs_by_dag.setdefault(run["dag_id"], []).append(run)
    paused = {d["dag_id"]: d["is_paused"] for d in data["dags"]}
    for dag_id in sorted(runs_by_dag):
        api.call("PATCH", f"/dags/{dag_id}", {"is_paused": True})  # the scheduler starts none of them
        order = _task_order(api, dag_id)
        for run in runs_by_dag[dag_id]:
            _import_run(api, run, tis_by_run.get((dag_id, run["dag_run_id"]), []), order, result)
    for dag_id in sorted((present & set(paused)) - keep_paused_flag):
        api.call("PATCH", f"/dags/{dag_id}", {"is_paused": paused[dag_id]})
    return result
