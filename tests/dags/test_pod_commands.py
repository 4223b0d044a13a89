"""The commands the DAGs give pods exist in the images they name: checked statically against the
Dockerfile (and build stage) that include/pod/images.yaml names for each image."""

from __future__ import annotations

import re
from pathlib import Path

from data_platform.pod.images import load_images
from data_platform.spark.versions import Version, VersionPin

REPO_ROOT = Path(__file__).resolve().parents[2]
_INSTALL = re.compile(r"\b(?:dnf|yum|microdnf|apt-get|apk)\b.*\binstall\b(?P<packages>.*)")
_PYTHON_PACKAGE = re.compile(r"^python(\d\.\d+)$")


def dockerfile_stages(path: Path) -> dict[str, dict]:
    """Build stages of a Dockerfile: name -> {"parent": stage or image, "lines": [...]}, with
    line continuations joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    stages: dict[str, dict] = {}
    current: dict | None = None
    for line in (raw.strip() for raw in text.splitlines()):
        match = re.match(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if match:
            current = {"parent": match.group(1), "lines": []}
            stages[match.group(2) or f"stage{len(stages)}"] = current
        elif current is not None and line and not line.startswith("#"):
            current["lines"].append(line)
    return stages


def stage_lines(path: Path, target: str) -> list[str]:
    """The instructions of ``target`` and of the stages it is built FROM, oldest first."""
    stages = dockerfile_stages(path)
    chain = []
    name: str | None = target
    while name in stages:
        chain.insert(0, stages[name])
        name = stages[name]["parent"]
    assert chain, f"{path} has no stage {target!r}"
    return [line for stage in chain for line in stage["lines"]]


def executables(lines: list[str]) -> set[str]:
    """Interpreters the image installs (``python3.11`` from a ``python3.11`` package)."""
    found = set()
    for line in lines:
        match = _INSTALL.search(line)
        if match:
            for package in match.group("packages").split():
                python = _PYTHON_PACKAGE.match(package)
                if python:
                    found.add(f"python{python.group(1)}")
    return found


def python_packages(lines: list[str]) -> set[str]:
    """Top-level packages on the image's PYTHONPATH (``/opt/jobs/${PACKAGE}.zip``, ARG defaults)."""
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", "\n".join(lines), re.MULTILINE))
    packages = set()
    for line in lines:
        match = re.match(r"^ENV\s+PYTHONPATH=(\S+)", line)
        if match:
            for entry in match.group(1).split(":"):
                entry = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), entry)
                packages.add(Path(entry).name.removesuffix(".zip"))
    return packages


def test_the_spark_image_provides_python311_only(parsed):
    lines = stage_lines(REPO_ROOT / "docker/spark/Dockerfile", "jobs")
    assert executables(lines) == {"python3.11"}
    assert python_packages(lines) == {"spark_jobs"}


def test_every_pod_command_runs_in_the_image_it_names(parsed):
    images = load_images()
    checked = 0
    for dag_id, dag in parsed["dags"].items():
        for task_id, pod in dag["pods"].items():
            where = f"{dag_id}.{task_id} (image {pod['image']!r})"
            image = images[pod["image"]]
            assert image.dockerfile and image.target, (
                f"{where}: name its dockerfile and target in images.yaml"
            )
            lines = stage_lines(REPO_ROOT / image.dockerfile, image.target)
            cmds = pod["cmds"]
            assert cmds, f"{where}: give cmds (the image's entrypoint is not checked)"
            assert cmds[0] in executables(lines), (
                f"{where}: {cmds[0]!r} is not installed by {image.dockerfile}"
            )
            if cmds[1:2] == ["-m"]:
                package = cmds[2].split(".")[0]
                assert package in python_packages(lines), (
                    f"{where}: {package} is not on the image's PYTHONPATH"
                )
                assert (REPO_ROOT / (cmds[2].replace(".", "/") + ".py")).is_file(), (
                    f"{where}: no module {cmds[2]}"
                )
            checked += 1
    assert checked, "no pod task was checked"


def test_job_pods_run_the_artifact_version_the_dag_pins(parsed):
    images = load_images()
    for dag_id, dag in parsed["dags"].items():
        pins = {spark["version"] for spark in dag["spark_jobs"].values()}
        for task_id, pod in dag["pods"].items():
            image = images[pod["image"]]
            if image.target != "jobs":
                continue
            built_from = Version.parse(image.tag.split("-")[0])
            for pin in pins:
                assert VersionPin.parse(pin).matches(built_from), (
                    f"{dag_id}.{task_id}: image {image.name}:{image.tag} is not built from a version the "
                    f"DAG's Spark job pin {pin!r} allows; rebuild it from that artifact"
                )
