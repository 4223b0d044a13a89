"""Deploy a built version to ``<artifacts_root>/<job>/{X.Y.Z, X.Y, X}/`` and resolve pins back.

The exact folder is written once (files, then ``manifest.json`` as the commit marker); the alias
folders ``X.Y`` and ``X`` are copies that only ever move forward (deploying a 1.1.9 hotfix after
1.2.0 moves ``1.1`` but leaves ``1`` at 1.2.0). The operator resolves a pin through the alias
manifest to the exact version and runs the exact folder's immutable files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from data_platform.spark.artifacts.build import BuiltArtifact
from data_platform.spark.artifacts.manifest import (
    DEPS_ALIAS,
    DEPS_ARCHIVE,
    LAUNCHER,
    MANIFEST,
    ArtifactError,
    Manifest,
)
from data_platform.spark.artifacts.store import ArtifactStore
from data_platform.spark.versions import Version, VersionPin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeployResult:
    job: str
    version: Version
    uri: str
    published: bool  # False: this exact build was already deployed
    aliases_moved: tuple[str, ...]


def _read_manifest(store: ArtifactStore, folder: str) -> Manifest | None:
    data = store.read(f"{folder}/{MANIFEST}")
    return Manifest.from_bytes(data, store.uri(f"{folder}/{MANIFEST}")) if data is not None else None


def deploy_artifact(built: BuiltArtifact, store: ArtifactStore) -> DeployResult:
    manifest = built.manifest
    version = manifest.exact_version
    exact = f"{manifest.job}/{version}"
    tags = {"job": manifest.job, "version": str(version)}
    existing = _read_manifest(store, exact)
    if existing is not None and existing.fingerprint() != manifest.fingerprint():
        changed = sorted(k for k in manifest.files if existing.files.get(k) != manifest.files[k])
        raise ArtifactError(
            f"{store.uri(exact)} is already deployed with different content (changed: "
            f"{changed or 'entry points / profiles'}). Published versions are immutable: bump the "
            f"version of {manifest.job!r} in include/spark/jobs.yaml and deploy again."
        )
    published = existing is None
    if published:
        for name in manifest.files:
            store.create(f"{exact}/{name}", built.read(name), tags)
        store.create(f"{exact}/{MANIFEST}", manifest.to_bytes(), tags)
    moved = []
    for alias in version.aliases():
        folder = f"{manifest.job}/{alias}"
        current = _read_manifest(store, folder)
        if current is not None and current.exact_version > version:
            continue
        if current is not None and current.fingerprint() == manifest.fingerprint():
            continue
        for name in manifest.files:
            store.put(f"{folder}/{name}", built.read(name), tags)
        store.put(f"{folder}/{MANIFEST}", manifest.to_bytes(), tags)
        moved.append(alias)
    log.info(
        "Deployed %s %s to %s (new: %s, aliases moved: %s)",
        manifest.job,
        version,
        store.uri(exact),
        published,
        moved or "none",
    )
    return DeployResult(manifest.job, version, store.uri(exact), published, tuple(moved))


@dataclass(frozen=True)
class ResolvedArtifact:
    """The exact version a pin resolved to, with the URIs a job run needs."""

    manifest: Manifest
    base_uri: str

    @property
    def version(self) -> Version:
        return self.manifest.exact_version

    def uri(self, name: str) -> str:
        return f"{self.base_uri}/{name}"

    @property
    def launcher_uri(self) -> str:
        return self.uri(LAUNCHER)

    def spark_conf(self) -> dict[str, Any]:
        """The artifact layer of the Spark conf: package zip and dependency archive."""
        conf: dict[str, Any] = {"spark.submit.pyFiles": [self.uri(self.manifest.package_zip)]}
        if self.manifest.has_deps:
            conf["spark.archives"] = [f"{self.uri(DEPS_ARCHIVE)}#{DEPS_ALIAS}"]
            conf["spark.emr-serverless.driverEnv.PYTHONPATH"] = f"./{DEPS_ALIAS}"
            conf["spark.executorEnv.PYTHONPATH"] = f"./{DEPS_ALIAS}"
        return conf


def resolve_artifact(store: ArtifactStore, job: str, pin: VersionPin) -> ResolvedArtifact:
    """The exact deployed version of ``job`` that ``pin`` ('1', '1.2' or '1.2.3') means now."""
    folder = f"{job}/{pin}"
    found = _read_manifest(store, folder)
    if found is None:
        raise ArtifactError(
            f"No deployed version of Spark job {job!r} matches version={str(pin)!r} "
            f"({store.uri(folder)}/{MANIFEST} does not exist). Deploy one with "
            f"'python -m data_platform.spark.artifacts deploy --job {job}' or fix the pin."
        )
    version = found.exact_version
    if found.job != job or not pin.matches(version):
        raise ArtifactError(f"{store.uri(folder)}/{MANIFEST} names {found.job} {version}, not a {job} {pin}.")
    exact = f"{job}/{version}"
    manifest = found if pin.is_exact else _read_manifest(store, exact)
    if manifest is None or manifest.fingerprint() != found.fingerprint():
        raise ArtifactError(
            f"Alias {store.uri(folder)} points at {job} {version}, but {store.uri(exact)} is missing or "
            "differs; redeploy that version."
        )
    return ResolvedArtifact(manifest=manifest, base_uri=store.uri(exact))
