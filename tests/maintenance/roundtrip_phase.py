"""One phase of the metadata round trip test, run in its own Airflow home (a subprocess):

``history <export_root>``: run the fixture DAG for three days, add a variable, a pool and a
connection with a password, then export through the REST API (in-process API server app) to
``export_root``; ``cleanup -``: ``airflow db clean`` of every run (dry run first) through the
local CLI; ``restore <export_root>``: import the latest export into this (fresh) home.
Both print the metadata the API then shows as one JSON line.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime


def api():
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    from data_platform.maintenance.airflow_api import HttpRestApi

    return HttpRestApi(TestClient(create_app(apps="core")))


def main(phase: str, export_root: str) -> None:
    from data_platform.maintenance.metadata_export import (
        collect_metadata,
        export_metadata,
        import_metadata,
        latest_export,
        read_export,
    )

    client = api()
    if phase == "history":
        from history_dag import dag

        for day in (1, 2, 3):
            dag.test(logical_date=datetime(2026, 1, day, tzinfo=UTC))
        client.call("POST", "/variables", {"key": "report_recipients", "value": "data-eng@example.com"})
        client.call("POST", "/variables", {"key": "jira_api_key", "value": "not-exported"})
        client.call("POST", "/pools", {"name": "warehouse", "slots": 3, "description": "loads"})
        client.call("POST", "/connections", {"connection_id": "reporting_db", "conn_type": "postgres",
                                             "host": "db.example.com", "login": "report", "password": "s3cret"})
        manifest = export_metadata(client, export_root, "20260104T000000")
        print("MANIFEST " + json.dumps(manifest, sort_keys=True))
    elif phase == "cleanup":  # every run started before tomorrow is old: a dry run, then the cleanup
        from datetime import timedelta

        from data_platform.maintenance.cleanup import LocalAirflowCli, run_cleanup
        from data_platform.maintenance.config import CleanupConfig

        config = CleanupConfig(retention_days=1, tables=["dag_run", "task_instance"], batch_size=100)
        outputs = run_cleanup(LocalAirflowCli(), config, datetime.now(UTC) + timedelta(days=2) - timedelta(days=1))
        print("CLEANUP " + json.dumps(outputs, sort_keys=True))
    else:
        result = import_metadata(client, read_export(f"{export_root}/{latest_export(export_root)}"))
        print("IMPORT " + json.dumps(result.as_dict(), sort_keys=True))
        if phase == "restore-twice":
            result = import_metadata(client, read_export(f"{export_root}/{latest_export(export_root)}"))
            print("IMPORT " + json.dumps(result.as_dict(), sort_keys=True))
    print("METADATA " + json.dumps(collect_metadata(client), sort_keys=True, default=str))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
