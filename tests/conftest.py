"""Test-wide setup: an isolated Airflow home and local runtime folder, and a real PostgreSQL.

Environment variables are set in ``pytest_configure`` so they are in place before any test
module imports Airflow.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="dp-tests-"))
REPO_ROOT = Path(__file__).resolve().parents[1]
# Tests read the product configuration plus their own fixtures (tests/fixtures/include), never
# the demo's (include/demo); the CDC index holds the fixture tables only, so adding a real table
# config changes no test.
FIXTURE_INCLUDE = REPO_ROOT / "tests" / "fixtures" / "include"


def pytest_configure(config: pytest.Config) -> None:
    from data_platform.cdc.pipeline import CADENCES_FILE, cadence_file
    from spark_jobs.cdc.table_index import compile_folders, index_bytes

    compiled = _SESSION_DIR / "compiled"
    (compiled / "cdc").mkdir(parents=True)
    index = compile_folders([FIXTURE_INCLUDE / "cdc" / "tables"])
    (compiled / "cdc" / "tables.json").write_bytes(index_bytes(index))
    (compiled / CADENCES_FILE).write_bytes(cadence_file(index))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(_SESSION_DIR / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "PLATFORM_INCLUDE_PATH": os.pathsep.join(
                map(str, [compiled, REPO_ROOT / "include", FIXTURE_INCLUDE])
            ),
            "PLATFORM_LOCAL_DIR": str(_SESSION_DIR / "local"),
            "PIPELINE_TARGET": "local",
        }
    )
    os.environ.pop("PIPELINE_ENV", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop every embedded PostgreSQL a test started under this session's folder."""
    from data_platform.local.postgres import stop_local_postgres

    for pid_file in _SESSION_DIR.rglob("postmaster.pid"):
        stop_local_postgres(pid_file.parent)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server for the session (real HTTP, botocore request building and validation).

    s3fs and the provider's async S3 hook use aiobotocore, which moto's in-process mock cannot
    intercept, so aws-target tests of the lake, sensors, warehouse and Spark jobs talk to it.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def local_postgres():
    """A real embedded PostgreSQL (started once per test session, stopped at its end)."""
    from data_platform.local.postgres import ensure_local_postgres, stop_local_postgres

    data_dir = _SESSION_DIR / "postgres"
    yield ensure_local_postgres(data_dir, databases=("airflow", "warehouse"))
    stop_local_postgres(data_dir)


@pytest.fixture
def warehouse_conn_id(local_postgres, monkeypatch) -> Iterator[str]:
    """The ``warehouse`` Airflow connection pointing at the embedded PostgreSQL."""
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", local_postgres.airflow_connection_json("warehouse"))
    yield "warehouse"


@pytest.fixture
def local_dir(tmp_path, monkeypatch) -> Path:
    """A fresh local runtime folder (lake, artifacts, alerts) for one test."""
    monkeypatch.setenv("PLATFORM_LOCAL_DIR", str(tmp_path / "local"))
    return tmp_path / "local"


@pytest.fixture(scope="module")
def airflow_runtime(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A local Airflow runtime of its own (embedded PostgreSQL, migrated metadata DB), for
    end-to-end DAG runs; this process's environment points at it for the module's tests."""
    from data_platform.local.postgres import stop_local_postgres
    from data_platform.local.runtime import init, local_environment

    folder = tmp_path_factory.mktemp("runtime")
    base = dict(os.environ, PLATFORM_LOCAL_DIR=str(folder))
    base.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
    base.pop("AIRFLOW_CONN_WAREHOUSE", None)
    saved = dict(os.environ)
    try:
        env = init(local_environment(base))
        os.environ.update(env)
        yield env
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stop_local_postgres(folder / "postgres")
