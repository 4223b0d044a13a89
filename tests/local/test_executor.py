"""The local executor: the DAG files' imports are loaded once, before the workers fork."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from data_platform.local.executor import PreImportingLocalExecutor, dag_file_imports, pre_import

DAG_FILE = '''"""A DAG file."""
from __future__ import annotations
import os, airflow.sdk
import probe_pkg.heavy  # noqa
from probe_pkg.models import Thing
from data_platform.config import load_yaml
from . import sibling
from probe_pkg.heavy import other

def later():
    import probe_pkg.inside_a_function
'''


def test_dag_file_imports_lists_the_top_level_modules_of_the_packages_once_in_order(tmp_path: Path):
    (tmp_path / "a.py").write_text(DAG_FILE)
    (tmp_path / "broken.py").write_text("import probe_pkg.never\ndef (:\n")
    (tmp_path / "b.py").write_text("import probe_pkg.second\nfrom probe_pkg.models import Other\n")
    files = sorted(tmp_path.glob("*.py"))
    assert dag_file_imports(files, ("probe_pkg",)) == [
        "probe_pkg.heavy",
        "probe_pkg.models",
        "probe_pkg.second",
    ]
    assert dag_file_imports(files) == ["airflow.sdk", "data_platform.config"]


def test_a_module_that_fails_to_import_is_named_and_the_others_still_load(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="data_platform.local.executor"):
        failed = pre_import(["json", "data_platform.no_such_module", "csv"])
    assert failed == ["data_platform.no_such_module"]
    assert "data_platform.no_such_module (ModuleNotFoundError" in caplog.text
    assert "csv" in sys.modules


def test_start_imports_the_dag_files_modules_before_forking_the_workers(tmp_path: Path, monkeypatch):
    package = tmp_path / "lib" / "probe_executor_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    record = tmp_path / "imported-in"
    (package / "heavy.py").write_text(f"import os\nopen({str(record)!r}, 'a').write(f'{{os.getpid()}}\\n')\n")
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "pipeline.py").write_text("import probe_executor_pkg.heavy  # noqa: F401\n")
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(dags))
    monkeypatch.setattr(PreImportingLocalExecutor, "pre_imported_packages", ("probe_executor_pkg",))
    monkeypatch.delitem(sys.modules, "probe_executor_pkg.heavy", raising=False)

    executor = PreImportingLocalExecutor(parallelism=2)
    executor.start()
    try:
        assert len(executor.workers) == 2
    finally:
        executor.end()
    # imported once, in this process, before it forked the two workers: they inherited the module
    assert record.read_text().split() == [str(os.getpid())]
    assert os.getpid() not in executor.workers
