"""The local Spark target's JVM packages: pinned in ``include/spark/jvm-packages.yaml``, fetched
with Maven into ``.jvm/`` of the checkout, verified against the pinned checksums.

    python -m data_platform.spark.jvm_packages fetch     # `make install` (once: stamp), `make jvm`
    python -m data_platform.spark.jvm_packages check     # verify the fetched jars
    python -m data_platform.spark.jvm_packages path NAME # the jar of one package

Maven (``mvn -q -B dependency:copy``) downloads through the machine's settings (mirrors,
proxies in ``~/.m2/settings.xml``) into its local repository (``~/.m2``, outside the checkout)
and copies each jar here; ``--strict-checksums`` makes it check the SHA-1 Maven Central
publishes, then every jar is checked against the pinned SHA-1 and SHA-256. Spark never
resolves packages itself (no ``spark.jars.packages``/Ivy at start).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from data_platform.config import ConfigError, load_yaml
from data_platform.paths import REPO_ROOT

PACKAGES_FILE = "spark/jvm-packages.yaml"
JVM_DIR_ENV = "PLATFORM_JVM_DIR"
STAMP_NAME = ".installed"
# `make install` does nothing while its stamp (.jvm/.installed) is newer than the pins, also when a
# jar was deleted; `make jvm` always fetches what is missing or different (the module run by hand
# also needs PYTHONPATH and PLATFORM_INCLUDE_PATH, which make sets)
FETCH_COMMAND = "make jvm"


class JvmPackageError(RuntimeError):
    """A pinned JVM package is missing, corrupt or cannot be fetched; the message says the fix."""


@dataclass(frozen=True)
class JvmPackage:
    """One pinned Maven artifact (``group:artifact:version``, a jar)."""

    name: str
    coordinate: str
    sha1: str
    sha256: str

    @property
    def version(self) -> str:
        return self.coordinate.rsplit(":", 1)[1]

    @property
    def file_name(self) -> str:
        _, artifact, version = self.coordinate.split(":")
        return f"{artifact}-{version}.jar"


def load_packages() -> list[JvmPackage]:
    """The pinned packages (file order)."""
    raw = load_yaml(PACKAGES_FILE) or {}
    packages = []
    for entry in raw.get("packages") or []:
        try:
            package = JvmPackage(
                name=entry["name"],
                coordinate=entry["coordinate"],
                sha1=entry["sha1"].lower(),
                sha256=entry["sha256"].lower(),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ConfigError(
                f"include/{PACKAGES_FILE}: every package needs name, coordinate, sha1 and sha256 ({entry!r})"
            ) from err
        if package.coordinate.count(":") != 2:
            raise ConfigError(
                f"include/{PACKAGES_FILE}: {package.name}: coordinate must be group:artifact:version"
            )
        packages.append(package)
    return packages


def jvm_dir() -> Path:
    """Where the jars live: ``.jvm/`` of the checkout (git-ignored), or ``$PLATFORM_JVM_DIR``."""
    return Path(os.environ.get(JVM_DIR_ENV) or REPO_ROOT / ".jvm").resolve()


def package(name: str) -> JvmPackage:
    for candidate in load_packages():
        if candidate.name == name:
            return candidate
    raise ConfigError(
        f"JVM package {name!r} is not pinned in include/{PACKAGES_FILE} "
        f"(pinned: {[p.name for p in load_packages()]})."
    )


def _digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(pkg: JvmPackage, path: Path) -> None:
    """Raise :class:`JvmPackageError` unless ``path`` has the pinned SHA-1 and SHA-256."""
    for algorithm, expected in (("sha1", pkg.sha1), ("sha256", pkg.sha256)):
        actual = _digest(path, algorithm)
        if actual != expected:
            raise JvmPackageError(
                f"{pkg.coordinate}: {path} has {algorithm} {actual}, pinned {expected} in "
                f"include/{PACKAGES_FILE}. Delete the file and run {FETCH_COMMAND}."
            )


def jar_path(name: str) -> Path:
    """The fetched jar of package ``name``; a clear error naming the package when it is missing."""
    pkg = package(name)
    path = jvm_dir() / pkg.file_name
    if not path.is_file():
        raise JvmPackageError(
            f"JVM package {pkg.coordinate} ({name}) is not installed: {path} is missing. "
            f"Fetch the pinned JVM packages with: {FETCH_COMMAND}"
        )
    return path


def _maven_copy(pkg: JvmPackage, target: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JvmPackageError(
            f"Maven (mvn) is needed to fetch {pkg.coordinate}; install Maven 3.8+ (Debian: apt-get install maven)."
        )
    command = [
        mvn, "-q", "-B", "--strict-checksums",
        "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
        f"-Dartifact={pkg.coordinate}:jar",
        f"-DoutputDirectory={target}",
        "-Dmdep.overWriteReleases=true",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as cwd:  # no pom.xml of this checkout is picked up
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise JvmPackageError(
            f"Maven could not fetch {pkg.coordinate} (exit {result.returncode}):\n{output}\n"
            f"If Maven Central refuses this version, pin the nearest version it serves in include/{PACKAGES_FILE}."
        )


def fetch(packages: list[JvmPackage] | None = None, target: Path | None = None) -> list[Path]:
    """Fetch (when missing or different) and verify every pinned jar; write the stamp. Returns the jars."""
    packages = load_packages() if packages is None else packages
    target = jvm_dir() if target is None else target
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for pkg in packages:
        path = target / pkg.file_name
        if path.is_file():
            try:
                verify(pkg, path)
            except JvmPackageError:
                path.unlink()
        if not path.is_file():
            print(f"fetching {pkg.coordinate} with Maven ...", flush=True)
            _maven_copy(pkg, target)
            if not path.is_file():
                raise JvmPackageError(f"Maven reported success but {path} was not written ({pkg.coordinate})")
            verify(pkg, path)
        paths.append(path)
    pinned = {pkg.file_name for pkg in packages}
    for stale in target.glob("*.jar"):  # jars of earlier pins
        if stale.name not in pinned:
            stale.unlink()
    (target / STAMP_NAME).write_text("".join(f"{pkg.coordinate} {pkg.sha256}\n" for pkg in packages))
    return paths


def check() -> list[Path]:
    """Verify every pinned jar is fetched and intact (raises :class:`JvmPackageError`)."""
    paths = []
    for pkg in load_packages():
        path = jar_path(pkg.name)
        verify(pkg, path)
        paths.append(path)
    return paths


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"fetch", "check", "path"} or (argv[0] == "path" and len(argv) != 2):
        print(__doc__)
        return 2
    try:
        if argv[0] == "path":
            print(jar_path(argv[1]))
            return 0
        paths = fetch() if argv[0] == "fetch" else check()
    except (JvmPackageError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} JVM packages verified in {jvm_dir()} ({total / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
