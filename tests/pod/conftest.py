"""Fixtures for pod task tests: a writable copy of include/ and the aws target switch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from data_platform.paths import REPO_ROOT


@pytest.fixture
def include_copy(tmp_path, monkeypatch) -> Path:
    """A private copy of include/platform, include/pod and include/spark (a pod's OpenLineage
    transport on aws is the Spark agent's) that a test may change."""
    target = tmp_path / "include"
    for part in ("platform", "pod", "spark"):
        shutil.copytree(REPO_ROOT / "include" / part, target / part)
    monkeypatch.setenv("PLATFORM_INCLUDE_PATH", str(target))
    return target


@pytest.fixture
def aws_target(monkeypatch) -> None:
    monkeypatch.setenv("PIPELINE_TARGET", "aws")
    monkeypatch.setenv("PIPELINE_ENV", "dev")
