"""Versioned Spark job artifacts: build, deploy (immutable exact versions + moving aliases), resolve.

CLI: ``python -m data_platform.spark.artifacts build|deploy --job NAME [--version X.Y.Z]``.
"""

from data_platform.spark.artifacts.build import BuiltArtifact, build_artifact
from data_platform.spark.artifacts.manifest import ArtifactError, Manifest
from data_platform.spark.artifacts.publish import (
    DeployResult,
    ResolvedArtifact,
    deploy_artifact,
    resolve_artifact,
)
from data_platform.spark.artifacts.store import ArtifactStore, open_store

__all__ = [
    "ArtifactError",
    "ArtifactStore",
    "BuiltArtifact",
    "DeployResult",
    "Manifest",
    "ResolvedArtifact",
    "build_artifact",
    "deploy_artifact",
    "open_store",
    "resolve_artifact",
]
