"""Static checks of docker-compose.yaml and the Dockerfiles (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = [name for name in SERVICES if name.startswith("airflow-")]
RUNTIME_MODULE = "data_platform.local.runtime"


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)", line)
        if match:
            pins[re.sub(r"\[.*\]", "", match.group(1)).lower().replace("_", "-")] = match.group(2)
    return pins


def test_compose_has_the_official_airflow3_services():
    expected = {
        "postgres",
        "warehouse",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    }
    assert expected <= set(SERVICES)


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_airflow_services_run_the_tested_entrypoint(service):
    command = SERVICES[service]["command"]
    assert command[:3] == ["python", "-m", RUNTIME_MODULE], command
    if command[3] == "airflow":
        from airflow.cli.cli_config import core_commands

        known = {c.name for c in core_commands}
        assert command[4] in known, f"{service}: 'airflow {command[4]}' is not an Airflow command"


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_airflow_services_mount_the_project_folders(service):
    volumes = SERVICES[service]["volumes"]
    for folder in ("dags", "plugins", "include", "spark_jobs"):
        assert f"./{folder}:/opt/project/{folder}" in volumes


def test_every_mounted_and_built_path_exists():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO_ROOT / source).exists(), f"{name}: {source} missing"
        build = service.get("build")
        if build:
            assert (REPO_ROOT / build["context"] / build["dockerfile"]).is_file()


def test_compose_needs_no_aws_credentials():
    text = (REPO_ROOT / "docker-compose.yaml").read_text()
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    env = SERVICES["airflow-scheduler"]["environment"]
    assert env["PIPELINE_TARGET"] == "local"


def test_entrypoint_module_exists():
    assert (REPO_ROOT / "plugins" / "data_platform" / "local" / "runtime.py").is_file()


@pytest.mark.parametrize("dockerfile", ["docker/airflow/Dockerfile", "docker/spark/Dockerfile"])
def test_dockerfile_copies_only_existing_files(dockerfile):
    for line in (REPO_ROOT / dockerfile).read_text().splitlines():
        if line.startswith("COPY "):
            sources = line.split()[1:-1]
            for source in sources:
                if "${" in source:  # a build argument (the artifact folder of `--target jobs`)
                    continue
                assert (REPO_ROOT / source).exists(), f"{dockerfile}: COPY source {source} missing"


def test_airflow_image_matches_the_pinned_airflow():
    pinned = _pins(REPO_ROOT / "constraints.txt")["apache-airflow"]
    base = (REPO_ROOT / "docker/airflow/Dockerfile").read_text()
    assert f"FROM apache/airflow:{pinned}-python3.11" in base


def test_spark_image_is_emr_serverless_with_pinned_packages():
    dockerfile = (REPO_ROOT / "docker/spark/Dockerfile").read_text()
    assert "public.ecr.aws/emr-serverless/spark/" in dockerfile
    assert "USER hadoop:hadoop" in dockerfile
    constraints = _pins(REPO_ROOT / "constraints.txt")
    for name, version in _pins(REPO_ROOT / "docker/spark/requirements.txt").items():
        assert constraints.get(name) == version, f"{name}=={version} differs from constraints.txt"


def test_mwaa_requirements_carry_a_constraint_line():
    lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    constraint = [line for line in lines if line.startswith("--constraint")]
    assert len(constraint) == 1
    pinned = _pins(REPO_ROOT / "constraints.txt")["apache-airflow"]
    assert f"constraints-{pinned}/" in constraint[0]
