"""The local Airflow runtime: one environment shared by the demo, the CLI and docker compose.

``local_environment()`` is the single place that decides how a local Airflow process is
configured: Airflow home inside the checkout (``.local/airflow``), LocalExecutor (its workers
forked with the DAG files' imports loaded: :mod:`data_platform.local.executor`), the metadata
DB and the warehouse on PostgreSQL (embedded unless already configured, as in docker compose),
OpenLineage events as include/lineage/transport.yaml's ``local`` block says (raw event files in
the lake, the local catalog stand-in), and ``PIPELINE_TARGET=local``. Paths are explicit, as on MWAA:
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

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from data_platform.local.postgres import AIRFLOW_DB, WAREHOUSE_DB, ensure_local_postgres
from data_platform.paths import INCLUDE_PATH_ENV_VAR, PLUGINS_DIR, REPO_ROOT, local_dir

METADATA_CONN_VAR = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
WAREHOUSE_CONN_VAR = "AIRFLOW_CONN_WAREHOUSE"
INIT_STAMP = ".init-fingerprint"


def airflow_home() -> Path:
    return local_dir() / "airflow"


def lineage_transport(include_path: list[Path], lake_root: str, env: dict[str, str]) -> dict[str, Any]:
    """The OpenLineage transport of the ``local`` block of include/lineage/transport.yaml
    (the first include folder holding it, ``${env:NAME}`` from ``env``): raw events in the lake,
    the local catalog stand-in when it runs (``make demo`` sets its URL)."""
    from data_platform.lineage.transport import TRANSPORT_FILE, read_lineage_config, transport_config

    found = [folder / TRANSPORT_FILE for folder in include_path if (folder / TRANSPORT_FILE).is_file()]
    if not found:
        raise SystemExit(f"No {TRANSPORT_FILE} in the include folders {[str(p) for p in include_path]}.")
    return transport_config(read_lineage_config(found[0], "local", env), lake_root)


def lineage_client_config(folder: Path) -> Path:
    """openlineage.yml of the local runtime in ``folder``: the transport for openlineage-python
    clients that are not Airflow (the Spark jobs' own events, through ``OPENLINEAGE_CONFIG``)."""
    return folder / "lineage" / "openlineage.yml"


def default_include_path() -> list[Path]:
    """The product configuration plus the demo's overlay."""
    return [REPO_ROOT / "include", REPO_ROOT / "include" / "demo"]


def compile_cdc_index(include_path: list[Path], out_dir: Path) -> Path:
    """Validate the CDC table configs of every include folder into ``out_dir/cdc/tables.json``
    and its cadences ``out_dir/cdc/cadences.json`` (what the CDC DAGs read, as the MWAA bundle
    carries them); exits naming the bad field. Returns the index's path."""
    from data_platform.cdc.pipeline import CADENCES_FILE, cadence_file
    from data_platform.cdc.warehouse_files import WarehouseFilesError, check_warehouse_files
    from spark_jobs.cdc.table_config import TableConfigError
    from spark_jobs.cdc.table_index import compile_folders, index_bytes

    target = out_dir / "cdc" / "tables.json"
    try:
        index = compile_folders([folder / "cdc" / "tables" for folder in include_path])
        check_warehouse_files(index, include_path)
    except (TableConfigError, WarehouseFilesError) as err:
        raise SystemExit(f"CDC table configs are invalid:\n{err}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    for path, data in ((target, index_bytes(index)), (out_dir / CADENCES_FILE, cadence_file(index))):
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    return target


def local_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables for a local Airflow process (starts embedded PostgreSQL if needed)."""
    env = dict(os.environ if base is None else base)
    if not env.get(METADATA_CONN_VAR) or not env.get(WAREHOUSE_CONN_VAR):
        server = ensure_local_postgres(local_dir() / "postgres", (AIRFLOW_DB, WAREHOUSE_DB))
        env.setdefault(METADATA_CONN_VAR, server.sqlalchemy_uri(AIRFLOW_DB))
        env.setdefault(WAREHOUSE_CONN_VAR, server.airflow_connection_json(WAREHOUSE_DB))
    # the runtime folder of ``env`` (a caller's base may name another one than this process)
    folder = Path(env.get("PLATFORM_LOCAL_DIR") or local_dir()).resolve()
    compiled = folder / "compiled"
    configured = [Path(p) for p in env.get(INCLUDE_PATH_ENV_VAR, "").split(os.pathsep) if p]
    include_path = [p for p in configured if p != compiled] or default_include_path()
    compile_cdc_index(include_path, compiled)
    python_path = [str(PLUGINS_DIR), str(REPO_ROOT), env.get("PYTHONPATH", "")]
    lake_root = env.get("LAKE_ROOT") or f"file://{folder}/lake"
    transport = lineage_transport(include_path, lake_root, env)
    for file_transport in [transport, *transport.get("transports", [])]:
        if file_transport.get("type") == "file":  # the file transport does not create folders
            Path(file_transport["log_file_path"]).parent.mkdir(parents=True, exist_ok=True)
    client_config = lineage_client_config(folder)
    client_config.parent.mkdir(parents=True, exist_ok=True)
    client_config.write_text(yaml.safe_dump({"transport": transport}, sort_keys=True))
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home()),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
            "AIRFLOW__CORE__EXECUTOR": "data_platform.local.executor.PreImportingLocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": env.get("AIRFLOW__CORE__PARALLELISM", "4"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "data-platform-local",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
            "OPENLINEAGE_CONFIG": str(client_config),
            "OPENLINEAGE_NAMESPACE": "data-platform-local",
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


def init_fingerprint(env: dict[str, str], steps: list[list[str]]) -> str:
    """SHA-256 of what ``init``'s steps depend on: the steps, the Airflow version, the metadata
    DB URI and the bytes of the DAG files, the platform code and the include folders."""
    from importlib.metadata import version

    digest = hashlib.sha256(
        json.dumps([steps, version("apache-airflow"), env.get(METADATA_CONN_VAR)]).encode()
    )
    folders = [Path(env["AIRFLOW__CORE__DAGS_FOLDER"]), PLUGINS_DIR]
    folders += [Path(p) for p in env.get(INCLUDE_PATH_ENV_VAR, "").split(os.pathsep) if p]
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def init(
    env: dict[str, str] | None = None, serialize_dags: bool = True, force: bool = False
) -> dict[str, str]:
    """Prepare the runtime: PostgreSQL up, metadata DB migrated, DAGs serialized so ``airflow
    dags list`` and the UI show them before a dag-processor runs (``airflow dags test`` parses
    its DAG itself, so the demo skips that step). Done once: a stamp in the Airflow home holds
    :func:`init_fingerprint`, and the steps run again only when it changed (or ``force``)."""
    env = env or local_environment()
    airflow_home().mkdir(parents=True, exist_ok=True)
    steps = [["db", "migrate"]] + ([["dags", "reserialize"]] if serialize_dags else [])
    stamp = airflow_home() / INIT_STAMP
    fingerprint = init_fingerprint(env, steps)
    if not force and stamp.is_file() and stamp.read_text() == fingerprint:
        return env
    for step in steps:
        print(
            f"runtime: airflow {' '.join(step)} (the DB, DAGs or code changed)...",
            file=sys.stderr,
            flush=True,
        )
        result = run_airflow(step, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
            raise SystemExit(f"airflow {' '.join(step)} failed (exit {result.returncode})")
    stamp.write_text(fingerprint)
    return env


def run_airflow_group(args: list[str], env: dict[str, str]) -> int:
    """Run the ``airflow`` CLI as :func:`run_group` does (``standalone``'s scheduler,
    dag-processor, triggerer and their workers never outlive Ctrl+C)."""
    return run_group([sys.executable, "-m", "airflow", *args], env)


def run_group(command: list[str], env: dict[str, str], grace_period: float = 30.0) -> int:
    """Run ``command`` in its own process group and, on Ctrl+C (or SIGTERM), stop the whole
    group: SIGTERM, then SIGKILL for what is left after ``grace_period`` seconds. Returns the
    exit code (130 when interrupted)."""
    process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, start_new_session=True)
    try:
        with sigterm_as_interrupt():
            return process.wait()
    except KeyboardInterrupt:
        print(f"\nruntime: stopping {command[-1]} and everything it started...", file=sys.stderr, flush=True)
        stop_group(process, grace_period)
        return 130


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises ``KeyboardInterrupt`` in the main thread, so a process
    stopped by ``kill`` (or started in the background, where a shell ignores Ctrl+C's SIGINT for
    it) unwinds as on Ctrl+C: what the block's context managers started is stopped."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_group(process: subprocess.Popen, grace_period: float) -> None:
    """Stop the process group led by ``process``: SIGTERM, then SIGKILL for what is left after
    ``grace_period`` seconds (members may outlive their leader)."""
    for sig, wait in ((signal.SIGTERM, grace_period), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; members of the group may still be running
        if sig is signal.SIGKILL or not _group_alive(process.pid, grace_period):
            return


def _group_alive(pgid: int, timeout: float) -> bool:
    """Whether a process of group ``pgid`` is still running after up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.2)
    return True


BACKFILL_RUN_PREFIX = "backfill__"


def summarize_backfill(dag_id: str, from_date: str, to_date: str, runs: list[dict[str, str]]) -> str:
    """What ``airflow backfill create`` made: ``runs`` as ``airflow dags list-runs -o json``
    lists them; the backfill's are those with a backfill run id whose logical date (ISO, UTC)
    falls in [from_date, to_date] (dates or datetimes, compared as ISO strings)."""
    made = sorted(
        (
            r
            for r in runs
            if r["run_id"].startswith(BACKFILL_RUN_PREFIX) and from_date <= r["logical_date"] <= to_date + "~"
        ),
        key=lambda r: r["logical_date"],
    )
    states: dict[str, int] = {}
    for run in made:
        states[run["state"]] = states.get(run["state"], 0) + 1
    counts = ", ".join(f"{state}: {count}" for state, count in sorted(states.items())) or "none"
    lines = [f"backfill of {dag_id} from {from_date} to {to_date}: {len(made)} run(s) ({counts})"]
    lines += [f"  {r['logical_date']}  {r['state']:<8} {r['run_id']}" for r in made]
    lines.append(
        "The scheduler runs them (make airflow must be running); follow them in the UI (Browse > Backfills)."
    )
    return "\n".join(lines)


def _print_backfill_summary(args: list[str], env: dict[str, str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    for flag in ("--dag-id", "--from-date", "--to-date"):
        parser.add_argument(flag, required=True)
    known, _ = parser.parse_known_args(args)
    listed = run_airflow(
        ["dags", "list-runs", known.dag_id, "-o", "json"], env=env, capture_output=True, text=True
    )
    if listed.returncode != 0:
        sys.stderr.write(listed.stderr[-2000:])
        return
    runs = json.loads(listed.stdout.strip().splitlines()[-1] or "[]")
    print(summarize_backfill(known.dag_id, known.from_date, known.to_date, runs))


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    env = local_environment()
    # docker compose migrates once in airflow-init and sets PLATFORM_DB_MIGRATE=0 elsewhere
    if command == "init" or env.get("PLATFORM_DB_MIGRATE", "1") != "0":
        init(env, force=command == "init")  # init: always (the DB may have been recreated)
    if command == "init":
        print(f"Airflow home: {airflow_home()}\nMetadata DB: {env[METADATA_CONN_VAR]}")
        return 0
    if command == "airflow":
        code = run_airflow_group(rest, env)
        if code == 0 and rest[:2] == ["backfill", "create"] and "--dry-run" not in rest:
            _print_backfill_summary(rest[2:], env)  # the CLI itself prints nothing about the runs
        return code
    if command == "standalone":
        return run_airflow_group(["standalone"], env)
    print(f"Unknown command {command!r}; use init, airflow ... or standalone.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
