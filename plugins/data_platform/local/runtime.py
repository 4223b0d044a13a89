"""The local Airflow runtime: one environment shared by the demo, the CLI and docker compose.

``local_environment()`` is the single place that decides how a local Airflow process is
configured: Airflow home inside the checkout (``.local/airflow``), LocalExecutor, the metadata
DB and the warehouse on PostgreSQL (embedded unless already configured, as in docker compose),
OpenLineage events to a file, and ``PIPELINE_TARGET=local``. Paths are explicit, as on MWAA:
``plugins/`` and the checkout root (for ``spark_jobs`` in local Spark and pod runs) on
``PYTHONPATH``, and the include folders in ``PLATFORM_INCLUDE_PATH``: the compiled CDC index,
``include/`` (the product) and the demo overlay ``include/demo/`` (unless the caller set the
path, as the tests do with their fixture folders).

    python -m data_platform.local.runtime init             # start PostgreSQL, migrate the DB
    python -m data_platform.local.runtime airflow dags list
    python -m data_platform.local.runtime standalone       # UI on http://localhost:8080

docker compose runs its services through this same module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from data_platform.local.postgres import AIRFLOW_DB, WAREHOUSE_DB, ensure_local_postgres
from data_platform.paths import INCLUDE_PATH_ENV_VAR, PLUGINS_DIR, REPO_ROOT, local_dir

METADATA_CONN_VAR = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
WAREHOUSE_CONN_VAR = "AIRFLOW_CONN_WAREHOUSE"


def airflow_home() -> Path:
    return local_dir() / "airflow"


def lineage_events_file() -> Path:
    return local_dir() / "lineage" / "openlineage-events.jsonl"


def default_include_path() -> list[Path]:
    """The product configuration plus the demo's overlay."""
    return [REPO_ROOT / "include", REPO_ROOT / "include" / "demo"]


def compile_cdc_index(include_path: list[Path], out_dir: Path) -> Path:
    """Validate the CDC table configs of every include folder into ``out_dir/cdc/tables.json``
    (the index the CDC DAGs read, as the MWAA bundle carries it); exits naming the bad field."""
    from spark_jobs.cdc.table_config import TableConfigError
    from spark_jobs.cdc.table_index import compile_folders, index_bytes

    target = out_dir / "cdc" / "tables.json"
    try:
        data = index_bytes(compile_folders([folder / "cdc" / "tables" for folder in include_path]))
    except TableConfigError as err:
        raise SystemExit(f"CDC table configs are invalid:\n{err}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)
    return target


def local_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables for a local Airflow process (starts embedded PostgreSQL if needed)."""
    env = dict(os.environ if base is None else base)
    if not env.get(METADATA_CONN_VAR) or not env.get(WAREHOUSE_CONN_VAR):
        server = ensure_local_postgres(local_dir() / "postgres", (AIRFLOW_DB, WAREHOUSE_DB))
        env.setdefault(METADATA_CONN_VAR, server.sqlalchemy_uri(AIRFLOW_DB))
        env.setdefault(WAREHOUSE_CONN_VAR, server.airflow_connection_json(WAREHOUSE_DB))
    lineage_events_file().parent.mkdir(parents=True, exist_ok=True)
    compiled = Path(env.get("PLATFORM_LOCAL_DIR") or local_dir()).resolve() / "compiled"
    configured = [Path(p) for p in env.get(INCLUDE_PATH_ENV_VAR, "").split(os.pathsep) if p]
    include_path = [p for p in configured if p != compiled] or default_include_path()
    compile_cdc_index(include_path, compiled)
    python_path = [str(PLUGINS_DIR), str(REPO_ROOT), env.get("PYTHONPATH", "")]
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home()),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": env.get("AIRFLOW__CORE__PARALLELISM", "4"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "data-platform-local",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(lineage_events_file()), "append": True}
            ),
            "PIPELINE_TARGET": "local",
            INCLUDE_PATH_ENV_VAR: os.pathsep.join(str(p) for p in [compiled, *include_path]),
            "PYTHONPATH": os.pathsep.join(p for p in python_path if p),
            # Airflow's standalone and spark-submit start sibling executables of this interpreter
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        }
    )
    env.pop("PIPELINE_ENV", None)
    return env


def run_airflow(args: list[str], env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run the ``airflow`` CLI of this interpreter with the local environment."""
    command = [sys.executable, "-m", "airflow", *args]
    return subprocess.run(command, env=env or local_environment(), cwd=REPO_ROOT, **kwargs)


def init(env: dict[str, str] | None = None, serialize_dags: bool = True) -> dict[str, str]:
    """Prepare the runtime: PostgreSQL up, metadata DB migrated (a no-op when already current),
    DAGs serialized so ``airflow dags list`` and the UI show them before a dag-processor runs
    (``airflow dags test`` parses its DAG itself, so the demo skips that step)."""
    env = env or local_environment()
    airflow_home().mkdir(parents=True, exist_ok=True)
    steps = [["db", "migrate"]] + ([["dags", "reserialize"]] if serialize_dags else [])
    for step in steps:
        result = run_airflow(step, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
            raise SystemExit(f"airflow {' '.join(step)} failed (exit {result.returncode})")
    return env


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    env = local_environment()
    # docker compose migrates once in airflow-init and sets PLATFORM_DB_MIGRATE=0 elsewhere
    if command == "init" or env.get("PLATFORM_DB_MIGRATE", "1") != "0":
        init(env)
    if command == "init":
        print(f"Airflow home: {airflow_home()}\nMetadata DB: {env[METADATA_CONN_VAR]}")
        return 0
    if command == "airflow":
        return run_airflow(rest, env=env).returncode
    if command == "standalone":
        return run_airflow(["standalone"], env=env).returncode
    print(f"Unknown command {command!r}; use init, airflow ... or standalone.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
