"""Artifacts: version pins, reproducible builds, the dependency archive, deploy layout,
immutability, forward-only aliases and resolution (local folder and moto S3), the CLI."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from spark_testing import REGION

from data_platform.paths import REPO_ROOT
from data_platform.spark.artifacts import (
    ArtifactError,
    build_artifact,
    deploy_artifact,
    open_store,
    resolve_artifact,
)
from data_platform.spark.jobs import get_job
from data_platform.spark.versions import Version, VersionPin


def test_version_pins():
    assert VersionPin.parse("1").matches(Version.parse("1.4.2"))
    assert VersionPin.parse("1.4").matches(Version.parse("1.4.2"))
    assert not VersionPin.parse("1.4").matches(Version.parse("1.5.0"))
    assert VersionPin.parse(" 1.4.2 ").is_exact and str(VersionPin.parse("1.4")) == "1.4"
    assert Version.parse("1.10.0") > Version.parse("1.9.9")
    assert Version.parse("2.3.4").aliases() == ("2.3", "2")
    for bad in ("v1", "1.2.3.4", "01.2", "", "latest"):
        with pytest.raises(ValueError, match="pin 'MAJOR'"):
            VersionPin.parse(bad)
    with pytest.raises(ValueError, match="MAJOR.MINOR.PATCH"):
        Version.parse("1.2")


@pytest.fixture
def tiny_copy(spark_include, tmp_path):
    """The tiny job as a package outside the repository, which a test may change."""
    package = tmp_path / "src" / "tinyjob"
    shutil.copytree(
        REPO_ROOT / "tests/spark/jobs/tinyjob", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    return get_job("tinyjob").model_copy(update=dict(package=str(package)))


def test_build_is_reproducible_and_holds_launcher_package_and_lock(tiny_copy, tmp_path):
    (tiny_copy.package_dir / "__pycache__").mkdir()
    (tiny_copy.package_dir / "__pycache__" / "words.cpython-311.pyc").write_bytes(b"junk")
    first = build_artifact(tiny_copy, tmp_path / "a")
    second = build_artifact(tiny_copy, tmp_path / "b")

    assert first.manifest.files == second.manifest.files
    assert sorted(p.name for p in first.folder.iterdir()) == [
        "launcher.py",
        "manifest.json",
        "requirements.lock",
        "tinyjob.zip",
    ]
    names = zipfile.ZipFile(first.folder / "tinyjob.zip").namelist()
    assert names == [
        "tinyjob/__init__.py",
        "tinyjob/fail.py",
        "tinyjob/sleep.py",
        "tinyjob/wordcount.py",
        "tinyjob/words.py",
    ]
    assert first.manifest.entry_points == ("tinyjob.wordcount", "tinyjob.fail", "tinyjob.sleep")
    assert first.manifest.profiles == ("hudi",) and first.manifest.deps_target is None
    assert (first.folder / "launcher.py").read_text().startswith('"""Entry point of every Spark job run')


@pytest.mark.parametrize("line", ["from airflow.sdk import Variable", "import data_platform.settings"])
def test_the_linter_refuses_spark_jobs_that_import_airflow_or_the_plugins(line):
    ruff = Path(sys.executable).with_name("ruff")
    for path, banned in (("spark_jobs/cdc/new_job.py", True), ("plugins/data_platform/new.py", False)):
        result = subprocess.run(
            [str(ruff), "check", "--no-cache", "--stdin-filename", path, "-"],
            input=f"{line}\n",
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
        )
        assert ("TID251" in result.stdout) is banned, result.stdout


def test_build_refuses_a_job_that_misses_an_entry_point(tiny_copy, tmp_path):
    with pytest.raises(
        ArtifactError, match="Entry point 'tinyjob.missing' of Spark job 'tinyjob' has no file"
    ):
        build_artifact(tiny_copy.model_copy(update=dict(entry_points=("tinyjob.missing",))), tmp_path / "out")


def _wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel, written by hand (no network, no build backend)."""
    files = {
        f"{name}/__init__.py": b"VALUE = 42\n",
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{name}-{version}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in files.items()
    ] + [f"{name}-{version}.dist-info/RECORD,,"]
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in files.items():
            wheel.writestr(member, data)
        wheel.writestr(f"{name}-{version}.dist-info/RECORD", "\n".join(record) + "\n")
    return path


def test_dependency_archive_is_built_from_the_pinned_lock(spark_include, tiny_copy, tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "tinydep", "0.1.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    lock = spark_include.root / "spark" / "requirements" / "tinyjob.lock"
    lock.parent.mkdir()
    lock.write_text("tinydep==0.1.0  # the only extra package\n")
    job = tiny_copy.model_copy(update=dict(requirements="requirements/tinyjob.lock"))

    built = build_artifact(job, tmp_path / "out")
    again = build_artifact(job, tmp_path / "again")

    assert built.manifest.files["deps.tar.gz"] == again.manifest.files["deps.tar.gz"]  # reproducible
    assert built.manifest.deps_target == {"python_version": "3.11", "platform": "manylinux2014_x86_64"}
    members = tarfile.open(fileobj=io.BytesIO(built.read("deps.tar.gz"))).getnames()
    assert "tinydep/__init__.py" in members and "tinydep-0.1.0.dist-info/METADATA" in members
    assert built.read("requirements.lock") == lock.read_bytes()

    store = open_store(f"file://{tmp_path / 'artifacts'}")
    deploy_artifact(built, store)
    conf = resolve_artifact(store, "tinyjob", VersionPin.parse("1")).spark_conf()
    base = f"file://{tmp_path / 'artifacts'}/tinyjob/1.0.0"
    assert conf == {
        "spark.submit.pyFiles": [f"{base}/tinyjob.zip"],
        "spark.archives": [f"{base}/deps.tar.gz#deps"],
        "spark.emr-serverless.driverEnv.PYTHONPATH": "./deps",
        "spark.executorEnv.PYTHONPATH": "./deps",
    }

    lock.write_text("tinydep>=0.1\n")
    with pytest.raises(ArtifactError, match="unpinned requirements"):
        build_artifact(job, tmp_path / "unpinned")


def test_deploy_layout_idempotence_and_immutability(tiny_copy, tmp_path):
    root = tmp_path / "artifacts"
    store = open_store(f"file://{root}")
    built = build_artifact(tiny_copy, tmp_path / "out")

    first = deploy_artifact(built, store)
    again = deploy_artifact(build_artifact(tiny_copy, tmp_path / "rebuilt"), store)

    assert first.published and first.aliases_moved == ("1.0", "1")
    assert not again.published and again.aliases_moved == ()
    for folder in ("1.0.0", "1.0", "1"):
        assert sorted(p.name for p in (root / "tinyjob" / folder).iterdir()) == [
            "launcher.py",
            "manifest.json",
            "requirements.lock",
            "tinyjob.zip",
        ]
    (tiny_copy.package_dir / "words.py").write_text("def parse_words(text):\n    return []\n")
    with pytest.raises(
        ArtifactError, match=r"already deployed with different content \(changed: \['tinyjob.zip'\]\)"
    ):
        deploy_artifact(build_artifact(tiny_copy, tmp_path / "changed"), store)


def test_aliases_only_move_forward_and_pins_resolve_to_exact_versions(tiny_copy, tmp_path):
    store = open_store(f"file://{tmp_path / 'artifacts'}")
    for version in ("1.0.0", "1.1.0", "1.0.5"):
        job = tiny_copy.model_copy(update=dict(version=Version.parse(version)))
        deploy_artifact(build_artifact(job, tmp_path / version), store)

    resolved = {
        pin: str(resolve_artifact(store, "tinyjob", VersionPin.parse(pin)).version)
        for pin in ("1", "1.0", "1.1", "1.0.0")
    }
    assert resolved == {"1": "1.1.0", "1.0": "1.0.5", "1.1": "1.1.0", "1.0.0": "1.0.0"}
    assert resolve_artifact(store, "tinyjob", VersionPin.parse("1")).launcher_uri.endswith(
        "/tinyjob/1.1.0/launcher.py"
    )
    with pytest.raises(ArtifactError, match="No deployed version of Spark job 'tinyjob' matches version='2'"):
        resolve_artifact(store, "tinyjob", VersionPin.parse("2"))


def test_deploy_and_resolve_on_s3(tiny_copy, tmp_path, monkeypatch, moto_endpoint):
    import uuid

    import boto3

    bucket = f"acme-artifacts-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # the store has no connection: boto's chain
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    store = open_store(f"s3://{bucket}/spark", region=REGION)
    deploy_artifact(build_artifact(tiny_copy, tmp_path / "out"), store)

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert [k for k in keys if k.endswith("manifest.json")] == [
        "spark/tinyjob/1.0.0/manifest.json",
        "spark/tinyjob/1.0/manifest.json",
        "spark/tinyjob/1/manifest.json",
    ]
    tags = s3.get_object_tagging(Bucket=bucket, Key="spark/tinyjob/1.0.0/tinyjob.zip")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"job": "tinyjob", "version": "1.0.0"}
    resolved = resolve_artifact(store, "tinyjob", VersionPin.parse("1.0"))
    assert resolved.uri("tinyjob.zip") == f"s3://{bucket}/spark/tinyjob/1.0.0/tinyjob.zip"
    # an exact version's objects are written with If-None-Match: different bytes never replace them
    with pytest.raises(ArtifactError, match="already exists with different content"):
        store.create("tinyjob/1.0.0/launcher.py", b"print('other')\n")
    assert (
        store.create("tinyjob/1.0.0/launcher.py", (tmp_path / "out" / "launcher.py").read_bytes())
        is False
    )


def test_cli_builds_and_deploys_the_version_of_jobs_yaml(spark_include, tmp_path, monkeypatch, capsys):
    from data_platform.spark.artifacts.__main__ import main

    monkeypatch.setenv("ARTIFACTS_ROOT", f"file://{tmp_path / 'artifacts'}")
    assert main(["deploy", "--job", "tinyjob", "--version", "1.0.0", "--out", str(tmp_path / "out")]) == 0
    assert "deployed: file://" in capsys.readouterr().out
    assert (tmp_path / "artifacts" / "tinyjob" / "1" / "manifest.json").is_file()

    assert main(["build", "--job", "tinyjob", "--version", "1.1.0", "--out", str(tmp_path / "x")]) == 1
    assert "does not match tinyjob's version 1.0.0 in include/spark/jobs.yaml" in capsys.readouterr().err
    assert main(["build", "--job", "nope"]) == 1
    assert "Spark job 'nope' is not defined" in capsys.readouterr().err
