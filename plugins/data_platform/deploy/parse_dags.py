"""Parse a dags folder the way the dag-processor does, with no network and no connections.

Run as a script by data_platform.deploy.integrity (the deploy command and the DAG integrity
tests) in a fresh interpreter started with ``-I`` (no
``PYTHONPATH``, no script folder on ``sys.path``), so ``sys.path`` holds exactly what MWAA puts
there: the site-packages, the dags folder and the plugins folder of the laid-out bundle. Then,
as a worker would at run time: import every module of the unpacked plugins.zip and resolve the
include/ files each task names through the deployed paths. Prints one JSON document.

    python -I parse_dags.py AIRFLOW_HOME CHECKOUT
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import pkgutil
import socket
import sys
import traceback
from pathlib import Path

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
    "spark_jobs",
)


WRAPPED_PROVIDER_MODULES = (
    "airflow.providers.cncf.kubernetes.operators.pod",
    "airflow.providers.amazon.aws.operators.base_aws",
)


def _no_network(*_args, **_kwargs):
    raise OSError("DAG files must not open network connections at parse time")


def _checkout_on_path(checkout: Path) -> list[str]:
    """Entries of sys.path inside the checkout, other than the interpreter's own (the venv)."""
    interpreter = Path(sys.prefix).resolve()
    return [
        p
        for p in sys.path
        if p
        and Path(p).resolve().is_relative_to(checkout)
        and not Path(p).resolve().is_relative_to(interpreter)
    ]


def _error(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def run_time_imports(plugins: Path) -> dict[str, str]:
    """Every module of the unpacked plugins.zip imports on the worker: module -> error."""
    errors = {}
    for module in pkgutil.walk_packages([str(plugins / "data_platform")], prefix="data_platform."):
        try:
            importlib.import_module(module.name)
        except Exception as exc:  # noqa: BLE001 - every failure is reported by name
            errors[module.name] = _error(exc)
    return errors


def task_config_errors(dags: dict) -> dict[str, str]:
    """The deployed include/ files each task reads when it runs (task -> error)."""
    from data_platform.pod.images import get_image
    from data_platform.pod.profiles import get_profile
    from data_platform.settings import get_settings
    from data_platform.spark.jobs import get_job
    from data_platform.warehouse.quality import load_rules
    from data_platform.warehouse.tables import TableName, table_ddl_file

    errors = {}
    try:
        get_settings()
    except Exception as exc:  # noqa: BLE001
        errors["settings"] = _error(exc)
    for dag in dags.values():
        for task in dag.tasks:
            kind = type(task).__name__
            try:
                if hasattr(task, "profile_name"):
                    get_profile(task.profile_name)
                    get_image(task.image_name)
                job = getattr(task, "job", None) or getattr(task, "partial_kwargs", {}).get("job")
                if isinstance(job, str):
                    get_job(job)
                if kind == "LoadToWarehouseOperator" and isinstance(task.table, str) and "{{" not in task.table:
                    path = table_ddl_file(TableName.parse(task.table))
                    if not path.is_file():
                        raise FileNotFoundError(f"{path} (the table's DDL) is not deployed")
                if kind == "CheckWarehouseTableOperator" and isinstance(task.rules, str) and "{{" not in task.rules:
                    load_rules(task.rules)
            except Exception as exc:  # noqa: BLE001
                errors[f"{dag.dag_id}.{task.task_id}"] = _error(exc)
    return errors


def main(airflow_home: str, checkout: str) -> None:
    home = Path(airflow_home)
    for name in list(os.environ):
        if name.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")):
            del os.environ[name]
    # MWAA: the dags folder and the plugins folder are on sys.path, nothing else of the project
    sys.path[:0] = [str(home / "dags"), str(home / "plugins")]
    socket.socket.connect = _no_network  # type: ignore[method-assign]
    socket.create_connection = _no_network

    from airflow.dag_processing.dagbag import DagBag

    # The provider operators the platform subclasses come with their own imports (PlatformPodOperator is a
    # KubernetesPodOperator, which loads the kubernetes client; SparkJobOperator an AwsBaseOperator, which
    # loads boto3). Those are the provider's cost,
    # paid once by the dag-processor's pre-import; only what the DAG files add on top counts.
    for module in WRAPPED_PROVIDER_MODULES:
        importlib.import_module(module)
    baseline = set(sys.modules)
    bag = DagBag(dag_folder=str(home / "dags"))
    imported = set(sys.modules) - baseline
    heavy = sorted(m for m in HEAVY_MODULES if m in imported)
    dags = {}
    for dag_id, dag in bag.dags.items():
        dags[dag_id] = {
            "fileloc": dag.fileloc,
            "description": dag.description,
            "tags": sorted(dag.tags or []),
            "tasks": {task.task_id: {"owner": task.owner, "retries": task.retries} for task in dag.tasks},
            "pods": {
                task.task_id: {"image": task.image_name, "cmds": list(getattr(task, "cmds", None) or [])}
                for task in dag.tasks
                if hasattr(task, "image_name")
            },
            "spark_jobs": {
                task.task_id: {
                    "job": getattr(task, "partial_kwargs", {}).get("job"),
                    "version": getattr(task, "partial_kwargs", {}).get("version"),
                }
                for task in dag.tasks
                if isinstance(getattr(task, "partial_kwargs", {}).get("job"), str)
            },
        }
    report = {
        "checkout_on_sys_path": _checkout_on_path(Path(checkout).resolve()),
        "spark_jobs_importable": importlib.util.find_spec("spark_jobs") is not None,
        "import_errors": bag.import_errors,
        "dags": dags,
        "heavy_modules": heavy,
        "run_time_import_errors": run_time_imports(home / "plugins"),
        "task_config_errors": task_config_errors(bag.dags),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
