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


def test_spark_image_and_aws_environments_carry_the_pinned_jvm_versions():
    """EMR ships Hudi: the image's EMR release must ship the Hudi version the local target pins
    (EMR 7.3-7.10: 0.15.0); the OpenLineage agent is the pinned version everywhere."""
    import re

    import yaml

    packages = yaml.safe_load((REPO_ROOT / "include/spark/jvm-packages.yaml").read_text())["packages"]
    pinned = {p["name"]: p for p in packages}
    dockerfile = (REPO_ROOT / "docker/spark/Dockerfile").read_text()
    release = re.search(r"ARG EMR_RELEASE=emr-7\.(\d+)\.\d+", dockerfile)
    assert release and 3 <= int(release.group(1)) <= 10
    assert pinned["hudi-spark-bundle"]["coordinate"].endswith(":0.15.0")
    openlineage = pinned["openlineage-spark"]
    version = openlineage["coordinate"].rsplit(":", 1)[1]
    assert f"ARG OPENLINEAGE_SPARK_VERSION={version}" in dockerfile
    assert f"ARG OPENLINEAGE_SPARK_SHA256={openlineage['sha256']}" in dockerfile
    environments = yaml.safe_load((REPO_ROOT / "include/spark/environments.yaml").read_text())
    for name in ("dev", "prod"):
        jars = environments[name]["conf"]["spark.jars"]
        assert any(jar.endswith(f"/openlineage-spark_2.12-{version}.jar") for jar in jars), name


def test_mwaa_requirements_carry_a_constraint_line():
    lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    constraint = [line for line in lines if line.startswith("--constraint")]
    assert len(constraint) == 1
    pinned = _pins(REPO_ROOT / "constraints.txt")["apache-airflow"]
    assert f"constraints-{pinned}/" in constraint[0]


def test_the_build_context_leaves_out_local_state_and_the_virtualenv():
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert {".venv", ".local", ".git", "dist"} <= set(ignored)
    assert "!dist/spark" in ignored, "the jobs image COPYs its Spark artifact from dist/spark"


def test_java_home_follows_the_build_architecture():
    dockerfile = (REPO_ROOT / "docker/airflow/Dockerfile").read_text()
    assert "ARG TARGETARCH" in dockerfile
    assert "ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-${TARGETARCH}" in dockerfile
    assert "openjdk-amd64" not in dockerfile


def test_the_airflow_image_installs_no_test_or_lint_tools():
    dockerfile = (REPO_ROOT / "docker/airflow/Dockerfile").read_text()
    copied = [line for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert copied and not any("requirements-dev.txt" in line for line in copied)
    local = (REPO_ROOT / "requirements-local.txt").read_text()
    for tool in ("pytest", "ruff", "mypy", "moto"):
        assert tool not in local


def test_compose_does_not_take_the_port_of_make_airflow():
    host_ports = [p.split(":")[0] for s in SERVICES.values() for p in s.get("ports", [])]
    assert "8080" not in host_ports
