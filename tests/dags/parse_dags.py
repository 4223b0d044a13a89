"""Parse the dags folder the way the dag-processor does, with no network and no connections.

Run as a script by the integrity tests (a fresh interpreter, so ``sys.modules`` shows exactly what
the DAG files import); prints one JSON document.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys

HEAVY_MODULES = (
    "pyspark",
    "pandas",
    "numpy",
    "pyarrow",
    "boto3",
    "botocore",
    "kubernetes",
    "kubernetes_asyncio",
    "sqlglot",
    "xarray",
    "netCDF4",
    "h5py",
    "datadog_api_client",
    "openlineage.client",
    "psycopg2",
    "psycopg",
    "duckdb",
    "matplotlib",
    "requests",
)


WRAPPED_PROVIDER_MODULES = (
    "airflow.providers.cncf.kubernetes.operators.pod",
    "airflow.providers.amazon.aws.operators.base_aws",
)


def _no_network(*_args, **_kwargs):
    raise OSError("DAG files must not open network connections at parse time")


def main(dags_folder: str) -> None:
    for name in list(os.environ):
        if name.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")):
            del os.environ[name]
    socket.socket.connect = _no_network  # type: ignore[method-assign]
    socket.create_connection = _no_network  # type: ignore[assignment]

    from airflow.dag_processing.dagbag import DagBag

    # The provider operators the platform subclasses come with their own imports (PlatformPodOperator is a
    # KubernetesPodOperator, which loads the kubernetes client; SparkJobOperator an AwsBaseOperator, which
    # loads boto3). Those are the provider's cost,
    # paid once by the dag-processor's pre-import; only what the DAG files add on top counts.
    for module in WRAPPED_PROVIDER_MODULES:
        importlib.import_module(module)
    baseline = set(sys.modules)
    bag = DagBag(dag_folder=dags_folder)
    imported = set(sys.modules) - baseline
    heavy = sorted(m for m in HEAVY_MODULES if m in imported)
    dags = {}
    for dag_id, dag in bag.dags.items():
        dags[dag_id] = {
            "fileloc": dag.fileloc,
            "description": dag.description,
            "tags": sorted(dag.tags or []),
            "tasks": {task.task_id: {"owner": task.owner, "retries": task.retries} for task in dag.tasks},
        }
    print(json.dumps({"import_errors": bag.import_errors, "dags": dags, "heavy_modules": heavy}))


if __name__ == "__main__":
    main(sys.argv[1])
