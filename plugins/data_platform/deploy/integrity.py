"""The DAG integrity check of a deploy bundle, as MWAA would run it: the bundle laid out in an
AIRFLOW_HOME (dags folder synced, plugins.zip unpacked) and parsed by ``parse_dags.py`` in a
clean interpreter (``python -I``: no PYTHONPATH, no checkout, no connections, no network).

The deploy command refuses a bundle with problems; the tests (tests/dags) assert the same report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from data_platform.deploy.bundle import Bundle
from data_platform.paths import REPO_ROOT

PARSE_SCRIPT = Path(__file__).with_name("parse_dags.py")
# what a worker's environment keeps from the caller's
_KEPT_VARIABLES = ("PATH", "HOME", "LANG", "TMPDIR", "JAVA_HOME")


class IntegrityError(RuntimeError):
    """The bundle would not run on MWAA; the message lists every problem by DAG file or task."""


def mwaa_environment(airflow_home: Path) -> dict[str, str]:
    """What an MWAA worker's process sees: its own AIRFLOW_HOME and folders, the aws target
    (include/mwaa/startup.sh), no PYTHONPATH, no include path, no connections."""
    env = {name: os.environ[name] for name in _KEPT_VARIABLES if name in os.environ}
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


def parse_bundle(airflow_home: Path, checkout: Path = REPO_ROOT) -> dict[str, Any]:
    """The parse report (see parse_dags.py) of the bundle laid out in ``airflow_home``.

    Raises IntegrityError when the parser itself fails (its stderr tail in the message)."""
    result = subprocess.run(
        [sys.executable, "-I", str(PARSE_SCRIPT), str(airflow_home), str(checkout)],
        capture_output=True,
        text=True,
        env=mwaa_environment(airflow_home),
        cwd=airflow_home,
        check=False,
    )
    if result.returncode != 0:
        raise IntegrityError(f"parsing the bundle failed:\n{result.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def problems(report: dict[str, Any]) -> list[str]:
    """Every reason a parse report forbids a deploy, one line each ([] = deployable)."""
    found = [
        f"import error in {path}: {error.splitlines()[-1]}" for path, error in report["import_errors"].items()
    ]
    found += [
        f"module {name} fails on a worker: {error}"
        for name, error in report["run_time_import_errors"].items()
    ]
    found += [f"task {task}: {error}" for task, error in report["task_config_errors"].items()]
    if report["checkout_on_sys_path"]:
        found.append(f"the checkout is on sys.path: {report['checkout_on_sys_path']}")
    if report["spark_jobs_importable"]:
        found.append("spark_jobs is importable on the workers (job code ships only as Spark artifacts)")
    if report["heavy_modules"]:
        found.append(f"DAG files import heavy modules at parse time: {report['heavy_modules']}")
    return found


def check_bundle(bundle: Bundle) -> dict[str, Any]:
    """Lay ``bundle`` out in a temporary AIRFLOW_HOME and parse it; return the report.

    Raises IntegrityError listing :func:`problems` when there are any."""
    with tempfile.TemporaryDirectory(prefix="mwaa-bundle-") as folder:
        home = Path(folder) / "airflow"
        bundle.write(home)
        report = parse_bundle(home)
    found = problems(report)
    if found:
        raise IntegrityError("the DAG integrity check failed; nothing deployed:\n  " + "\n  ".join(found))
    return report
