"""The CDC end-to-end run drives the demo's DMS simulator, so it runs on the demo's configs
(include/demo overlay), the way `make demo` does; the unit tests use the fixture configs."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from data_platform.local.runtime import default_include_path
from data_platform.paths import INCLUDE_PATH_ENV_VAR


@pytest.fixture(scope="module")
def demo_include() -> Iterator[None]:
    """Request it before ``airflow_runtime``: the runtime compiles the CDC index of this path."""
    saved = os.environ.get(INCLUDE_PATH_ENV_VAR)
    os.environ[INCLUDE_PATH_ENV_VAR] = os.pathsep.join(map(str, default_include_path()))
    yield
    if saved is None:
        os.environ.pop(INCLUDE_PATH_ENV_VAR, None)
    else:
        os.environ[INCLUDE_PATH_ENV_VAR] = saved
