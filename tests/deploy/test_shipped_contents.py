"""What ships: the MWAA bundle (dags folder, plugins.zip) and the Spark job artifact carry the
product only, never the demo's configs, the DMS simulator or other local-only tooling."""

from __future__ import annotations

import ast
import io
import json
import zipfile

import pytest

from data_platform.deploy.bundle import build_bundle
from data_platform.spark.artifacts.build import zip_package
from data_platform.spark.jobs import load_jobs

DEMO_MARKERS = ("shop.", "/shop", "demo", "dms_simulator", "sample_data", "cdc_demo")


@pytest.fixture(scope="module")
def bundle():
    return build_bundle()


def _plugins(bundle) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle.plugins_zip)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_plugins_zip_holds_the_platform_without_local_or_deploy_tooling(bundle):
    names = sorted(_plugins(bundle))
    assert "data_platform/settings.py" in names and "data_platform/cdc/pipeline.py" in names
    assert not [n for n in names if n.startswith(("data_platform/local/", "data_platform/deploy/"))]
    assert not [n for n in names if any(marker in n for marker in DEMO_MARKERS)]


def test_no_shipped_module_imports_job_code_or_local_tooling(bundle):
    offenders = []
    for name, source in _plugins(bundle).items():
        if not name.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(source)):
            modules = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            offenders += [f"{name}: {m}" for m in modules if m.split(".")[0] == "spark_jobs"]
            offenders += [f"{name}: {m}" for m in modules if m.startswith("data_platform.local")]
    assert offenders == []


def test_the_dags_folder_holds_no_demo_config(bundle):
    keys = sorted(bundle.dags)
    assert {"platform_smoke.py", "cdc_pipelines.py", "include/cdc/tables.json", "include/cdc/cadences.json"} <= set(keys)
    assert not [k for k in keys if k.startswith(("include/demo/", "include/local/", "include/mwaa/"))]
    assert not [k for k in keys if any(marker in k for marker in DEMO_MARKERS)]
    assert not [k for k in keys if k.startswith("include/cdc/tables/")], "the index is the one shipped copy"
    index = json.loads(bundle.dags["include/cdc/tables.json"])
    assert not [t for t in index["tables"] if t.startswith("shop.")]


@pytest.mark.parametrize("job", sorted(load_jobs()))
def test_spark_job_artifacts_hold_job_code_only(job):
    spec = load_jobs()[job]
    with zipfile.ZipFile(io.BytesIO(zip_package(spec))) as archive:
        names = archive.namelist()
    assert names and all(n.startswith(f"{spec.package_dir.name}/") for n in names), names
    assert not [n for n in names if any(marker in n for marker in DEMO_MARKERS)]
    assert not [n for n in names if n.endswith((".yaml", ".yml", ".sql"))], "configs come with each run"
