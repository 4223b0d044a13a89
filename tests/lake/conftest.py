"""Fixtures of the lake tests: a local lake root and the moto S3 lake."""

from __future__ import annotations

import pytest

from tests.lake.moto_s3 import aws_lake  # noqa: F401 - fixture


@pytest.fixture
def local_lake(local_dir) -> str:
    """The lake root of the local target in a fresh local runtime folder."""
    from data_platform.settings import get_settings

    return get_settings().lake_root
