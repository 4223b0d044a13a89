"""One MWAA-laid-out bundle (with the tests' CDC fixture tables) and its parse, per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from mwaa_layout import FIXTURE_CDC_TABLES, parse_bundle

from data_platform.deploy.bundle import build_bundle


@pytest.fixture(scope="session")
def mwaa_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("mwaa") / "airflow"
    build_bundle(cdc_tables=[FIXTURE_CDC_TABLES]).write(home)
    return home


@pytest.fixture(scope="session")
def parsed(mwaa_home) -> dict:
    return parse_bundle(mwaa_home)
