"""Several MWAA environments: each one's dags folder holds only its share, every DAG id of the
bundle runs in exactly one environment, and each share passes the deploy's integrity check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mwaa_layout import FIXTURE_CDC_TABLES

from data_platform.cdc.pipeline import cadence_file
from data_platform.config import ConfigError
from data_platform.deploy.bundle import build_bundle
from data_platform.deploy.environments import assign, load_environments, shares
from data_platform.deploy.integrity import check_bundle

CONFIG = Path(__file__).resolve().parents[1] / "fixtures" / "mwaa" / "environments.yaml"


@pytest.fixture(scope="module")
def full_bundle():
    return build_bundle(cdc_tables=[FIXTURE_CDC_TABLES])


@pytest.fixture(scope="module")
def bundle(full_bundle):
    """The bundle with two DAG files only (the fixture config's units), so adding a pipeline
    changes no expected placement."""
    from dataclasses import replace

    keep = {"platform_smoke.py", "cdc_pipelines.py"}
    return replace(
        full_bundle,
        dags={k: v for k, v in full_bundle.dags.items() if "/" in k or not k.endswith(".py") or k in keep},
    )


def test_pinned_units_stay_and_the_rest_is_balanced_by_expected_load(bundle):
    # hourly: 3 tables x 24 runs = 72 -> analytics-b (capacity 2: 36 per unit of capacity, not 72);
    # daily: 1 -> analytics-c (1 against b's 73/2)
    assert assign(bundle, load_environments(CONFIG)) == {
        "analytics-a": ["platform_smoke.py"],
        "analytics-b": ["cdc:hourly"],
        "analytics-c": ["cdc:daily"],
    }


def test_every_dag_id_lands_in_exactly_one_environment(bundle):
    dag_ids: dict[str, list[str]] = {}
    for share in shares(bundle, load_environments(CONFIG)):
        report = check_bundle(share.bundle)  # also: each share alone passes the integrity check
        for dag_id in report["dags"]:
            dag_ids.setdefault(dag_id, []).append(share.environment.name)
        index = json.loads(share.bundle.dags["include/cdc/tables.json"])
        assert set(index["cadences"]) == {u.removeprefix("cdc:") for u in share.units if u.startswith("cdc:")}
        assert share.bundle.dags["include/cdc/cadences.json"] == cadence_file(index)
    assert {d: envs for d, envs in dag_ids.items() if len(envs) != 1} == {}
    assert dag_ids == {
        "platform_smoke": ["analytics-a"],
        "cdc_hourly": ["analytics-b"],
        "cdc_daily": ["analytics-c"],
    }


def test_a_dag_pinned_twice_or_to_nothing_is_a_config_error(tmp_path, bundle):
    twice = tmp_path / "twice.yaml"
    twice.write_text(
        "environments:\n"
        "  - {name: a, bucket: a, region: eu-west-1, dag_files: [platform_smoke.py]}\n"
        "  - {name: b, bucket: b, region: eu-west-1, dag_files: [platform_smoke.py]}\n"
    )
    with pytest.raises(ConfigError, match="platform_smoke.py is pinned to both a and b"):
        load_environments(twice)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("environments:\n  - {name: a, bucket: a, region: eu-west-1, cdc_cadences: [10min]}\n")
    with pytest.raises(ConfigError, match="pins cdc:10min, which the bundle does not have"):
        assign(bundle, load_environments(unknown))
    nowhere = tmp_path / "nowhere.yaml"
    nowhere.write_text("environments:\n  - {name: a, bucket: a, region: eu-west-1, balanced: false}\n")
    with pytest.raises(ConfigError, match="would run nowhere"):
        assign(bundle, load_environments(nowhere))


def test_the_product_config_places_every_dag(full_bundle):
    product = Path(__file__).resolve().parents[2] / "include" / "mwaa"
    index = json.loads(full_bundle.dags["include/cdc/tables.json"])
    units = {k for k in full_bundle.dags if "/" not in k and k.endswith(".py") and k != "cdc_pipelines.py"}
    units |= {f"cdc:{cadence}" for cadence in index["cadences"]}
    for config in ("environments.yaml", "environments-dev.yaml"):
        placed = [u for units in assign(full_bundle, load_environments(product / config)).values() for u in units]
        assert len(placed) == len(set(placed))
        assert set(placed) == units


def test_deploy_refuses_a_bundle_whose_dags_do_not_import(bundle):
    from dataclasses import replace

    from data_platform.deploy.integrity import IntegrityError

    broken = replace(
        bundle,
        dags={**bundle.dags, "broken_pipeline.py": b"from airflow.sdk import DAG\nimport no_such_module\n"},
    )
    with pytest.raises(IntegrityError, match="import error in .*broken_pipeline.py: ModuleNotFoundError"):
        check_bundle(broken)
