"""Build one job version into a local folder: launcher, package zip, lock and dependency archive.

Builds are reproducible (sorted entries, fixed timestamps and modes), so rebuilding the same
commit gives byte-identical files and re-deploying it is a no-op. The dependency archive is the
job's pinned lock installed with ``pip install --target`` for the Python and platform of the
Spark image (``artifacts:`` in include/spark/defaults.yaml), packed as ``deps.tar.gz``; Spark
unpacks it into ``./deps`` (``spark.archives``) and the job finds it on ``PYTHONPATH``. Building
it needs the wheels from PyPI (or ``PIP_FIND_LINKS`` / ``PIP_INDEX_URL``); a job without a lock
gets no archive.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from data_platform.paths import REPO_ROOT
from data_platform.spark.artifacts.manifest import (
    DEPS_ARCHIVE,
    LAUNCHER,
    MANIFEST,
    REQUIREMENTS_LOCK,
    ArtifactError,
    Manifest,
    sha256,
)
from data_platform.spark.conf import SparkDefaults
from data_platform.spark.jobs import JobSpec

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", "tests"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}
LAUNCHER_SOURCE = Path(__file__).resolve().parents[1] / "launcher.py"


@dataclass(frozen=True)
class BuiltArtifact:
    folder: Path
    manifest: Manifest

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()


def default_build_dir(job: JobSpec) -> Path:
    return REPO_ROOT / "dist" / "spark" / job.name / str(job.version)


def _package_files(package_dir: Path) -> Iterator[Path]:
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if (
            path.is_file()
            and not (set(relative.parts[:-1]) & _SKIP_DIRS)
            and path.suffix not in _SKIP_SUFFIXES
        ):
            yield path


def _check_entry_points(job: JobSpec) -> None:
    for module in job.entry_points:
        relative = Path(*module.split(".")[1:])
        candidates = [
            job.package_dir / relative.with_suffix(".py"),
            job.package_dir / relative / "__main__.py",
        ]
        if not any(c.is_file() for c in candidates):
            raise ArtifactError(
                f"Entry point {module!r} of Spark job {job.name!r} has no file "
                f"({candidates[0].relative_to(job.source_root)}); fix 'entry_points' in include/spark/jobs.yaml."
            )


def zip_package(job: JobSpec) -> bytes:
    """The package as a zip whose root holds ``<package_name>/...`` (what ``--py-files`` needs)."""
    if not (job.package_dir / "__init__.py").is_file():
        raise ArtifactError(
            f"Package {job.package!r} of Spark job {job.name!r} is not a Python package "
            f"(no {job.package}/__init__.py)."
        )
    files = list(_package_files(job.package_dir))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(
                f"{job.package_name}/{path.relative_to(job.package_dir).as_posix()}", _ZIP_EPOCH
            )
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def read_lock(job: JobSpec) -> list[str]:
    """The job's pinned requirement lines (``name==version``, optional hashes)."""
    path = job.requirements_file
    if path is None:
        return []
    if not path.is_file():
        raise ArtifactError(f"Requirements lock {path} of Spark job {job.name!r} does not exist.")
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    requirements = [line for line in lines if line and not line.startswith("--hash")]
    unpinned = [line for line in requirements if "==" not in line and not line.startswith("-")]
    if unpinned:
        raise ArtifactError(
            f"{path} has unpinned requirements {unpinned}; pin every package with '==' "
            "(a complete lock, e.g. from 'uv pip compile --generate-hashes')."
        )
    return requirements


def _tar_gz(folder: Path) -> bytes:
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(folder).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644
            if path.is_file():
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    return raw.getvalue()


def build_deps_archive(job: JobSpec, lock: Path, python_version: str, platform: str) -> bytes:
    """``pip install --target`` the lock for the Spark image's Python, packed reproducibly."""
    with tempfile.TemporaryDirectory(prefix=f"deps-{job.name}-") as tmp:
        target = Path(tmp) / "site"
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--no-deps",
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--platform",
            platform,
            "--target",
            str(target),
            "-r",
            str(lock),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ArtifactError(
                f"Could not build the dependency archive of Spark job {job.name!r} for Python "
                f"{python_version} / {platform} (pip exit code {result.returncode}). Wheels come from "
                f"PyPI or PIP_FIND_LINKS / PIP_INDEX_URL.\n{result.stderr.strip()[-2000:]}"
            )
        shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts point at this machine
        return _tar_gz(target)


def _source_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def build_artifact(job: JobSpec, out_dir: Path | None = None) -> BuiltArtifact:
    """Build ``job`` at the version in include/spark/jobs.yaml into ``out_dir`` (replaced)."""
    _check_entry_points(job)
    folder = out_dir or default_build_dir(job)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    artifacts = SparkDefaults.load().artifacts
    lock = job.requirements_file
    lock_lines = read_lock(job)
    contents: dict[str, bytes] = {
        LAUNCHER: LAUNCHER_SOURCE.read_bytes(),
        f"{job.package_name}.zip": zip_package(job),
        REQUIREMENTS_LOCK: lock.read_bytes() if lock else b"",
    }
    deps_target = None
    if lock and lock_lines:
        deps_target = {
            "python_version": artifacts.deps_python_version,
            "platform": artifacts.deps_platform,
        }
        contents[DEPS_ARCHIVE] = build_deps_archive(
            job, lock, deps_target["python_version"], deps_target["platform"]
        )
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    manifest = Manifest(
        job=job.name,
        version=str(job.version),
        package=job.package_name,
        entry_points=job.entry_points,
        profiles=job.profiles,
        files={name: sha256(data) for name, data in sorted(contents.items())},
        deps_target=deps_target,
        source_commit=_source_commit(),
    )
    (folder / MANIFEST).write_bytes(manifest.to_bytes())
    return BuiltArtifact(folder=folder, manifest=manifest)
