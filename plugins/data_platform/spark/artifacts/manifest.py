"""The manifest of one built job version: what the folder holds and what it was built from.

``manifest.json`` is uploaded last, so a folder with a manifest is complete. Two builds are the
same release when their :meth:`Manifest.fingerprint` is equal (file hashes, package, entry points
and profiles; not the commit they were built from).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from data_platform.spark.versions import Version

MANIFEST = "manifest.json"
LAUNCHER = "launcher.py"
REQUIREMENTS_LOCK = "requirements.lock"
DEPS_ARCHIVE = "deps.tar.gz"
DEPS_ALIAS = "deps"  # spark.archives unpacks the dependency archive into ./deps


class ArtifactError(RuntimeError):
    """Building, deploying or resolving a job artifact failed; the message says what to do."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    job: str
    version: str
    package: str
    entry_points: tuple[str, ...]
    profiles: tuple[str, ...]
    files: dict[str, str]
    deps_target: dict[str, str] | None = None
    source_commit: str | None = field(default=None, compare=False)

    @property
    def exact_version(self) -> Version:
        return Version.parse(self.version)

    @property
    def package_zip(self) -> str:
        return f"{self.package}.zip"

    @property
    def has_deps(self) -> bool:
        return DEPS_ARCHIVE in self.files

    def fingerprint(self) -> str:
        content = {k: v for k, v in asdict(self).items() if k != "source_commit"}
        return sha256(json.dumps(content, sort_keys=True).encode())

    def to_bytes(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> Manifest:
        try:
            raw: dict[str, Any] = json.loads(data)
            return cls(
                job=raw["job"],
                version=raw["version"],
                package=raw["package"],
                entry_points=tuple(raw["entry_points"]),
                profiles=tuple(raw.get("profiles") or ()),
                files=dict(raw["files"]),
                deps_target=raw.get("deps_target"),
                source_commit=raw.get("source_commit"),
            )
        except (ValueError, KeyError, TypeError) as err:
            raise ArtifactError(f"{where} is not a valid artifact manifest ({err}).") from err
