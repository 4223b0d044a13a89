"""Run a DAG file through ``dag.test()`` in an Airflow home of its own (fresh metadata DB), for
end-to-end tests of operators; returns everything the run printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from data_platform.paths import PLUGINS_DIR, REPO_ROOT


def run_dag_file(source: str, name: str, tmp_path: Path, extra_env: dict[str, str] | None = None) -> str:
    """Write ``source`` as ``<name>.py`` (it must call ``dag.test()`` under ``__main__``) and run it."""
    home = tmp_path / "airflow"
    (home / "dags").mkdir(parents=True)
    dag_file = home / "dags" / f"{name}.py"
    dag_file.write_text(source)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "PYTHONPATH": os.pathsep.join([str(PLUGINS_DIR), str(REPO_ROOT)]),
        **(extra_env or {}),
    }
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        check=True,
        timeout=300,
    )
    done = subprocess.run(
        [sys.executable, str(dag_file)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    return done.stdout + done.stderr
