"""include/mwaa/startup.sh picks the platform environment by exact MWAA environment name."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "include" / "mwaa" / "startup.sh"
SHELLS = [shell for shell in ("sh", "bash") if shutil.which(shell)]


def _run(shell: str, environment_name: str | None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin"}
    if environment_name is not None:
        env["AIRFLOW_ENV_NAME"] = environment_name
    # MWAA sources the script; print what it exported
    command = f'. "{SCRIPT}" && echo "$PIPELINE_TARGET $PIPELINE_ENV"'
    return subprocess.run([shell, "-c", command], env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    ("name", "expected"),
    [("data-platform-dev", "dev"), ("data-platform-prod", "prod"), ("data-platform-prod-cdc", "prod")],
)
def test_known_environments_select_their_block(shell, name, expected):
    result = _run(shell, name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["aws", expected]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    "name",
    [
        "data-platform-preprod",
        "data-platform-nonprod",
        "data-platform-production-test",
        "product-analytics-dev",
        "prod",
        "",
        None,
    ],
)
def test_other_names_are_refused_never_taken_for_prod(shell, name):
    result = _run(shell, name)
    assert result.returncode != 0 and "prod" not in result.stdout
    assert "not mapped" in result.stderr and "include/mwaa/startup.sh" in result.stderr


def test_every_selected_environment_is_defined_for_the_aws_target():
    environments = yaml.safe_load((REPO_ROOT / "include" / "platform" / "environments.yaml").read_text())
    selected = {
        line.split("PIPELINE_ENV=")[1].split()[0]
        for line in SCRIPT.read_text().splitlines()
        if "export PIPELINE_ENV=" in line
    }
    assert selected == {"dev", "prod"}
    assert all(environments[name]["target"] == "aws" for name in selected)
