"""Airflow imports every .py file of the plugins folder as a top-level module by file name; the
platform package must be excluded, or e.g. data_platform/spark/artifacts/__main__.py replaces __main__."""

from __future__ import annotations

import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def test_airflow_loads_no_platform_module_as_a_plugin_file():
    from airflow._shared.module_loading import find_path_from_directory

    loaded = [Path(p) for p in find_path_from_directory(str(PLUGINS), ".airflowignore", "glob")]
    python_files = [p for p in loaded if p.suffix == ".py"]
    assert all(p.parent == PLUGINS for p in python_files), python_files
    stdlib = set(sys.stdlib_module_names)
    assert not [p for p in python_files if p.stem in stdlib]
