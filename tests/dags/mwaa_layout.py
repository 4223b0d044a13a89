"""The MWAA layout of the deploy bundle and a parse of it in a clean interpreter (shared by the
DAG integrity and pod command tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# the CDC DAGs exist only when tables are configured: the bundle is built with the tests' own
FIXTURE_CDC_TABLES = REPO_ROOT / "tests" / "fixtures" / "include" / "cdc" / "tables"


def mwaa_environment(airflow_home: Path) -> dict[str, str]:
    """What an MWAA worker's process sees: its own AIRFLOW_HOME and folders, the aws target
    (include/mwaa/startup.sh), no PYTHONPATH, no include path, no connections."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "JAVA_HOME")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(airflow_home / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(airflow_home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            "PIPELINE_TARGET": "aws",
            "PIPELINE_ENV": "dev",
        }
    )
    return env


def parse_bundle(airflow_home: Path) -> dict:
    """Parse the laid-out bundle in a clean interpreter (``-I``: no PYTHONPATH, no script dir)."""
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            str(Path(__file__).with_name("parse_dags.py")),
            str(airflow_home),
            str(REPO_ROOT),
        ],
        capture_output=True,
        text=True,
        env=mwaa_environment(airflow_home),
        cwd=airflow_home,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
