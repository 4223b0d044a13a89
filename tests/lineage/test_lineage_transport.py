"""The transport of each environment, from include/lineage/transport.yaml."""

from __future__ import annotations

import pytest

from data_platform.config import ConfigError, load_yaml
from data_platform.lineage.transport import Catalog, LineageConfig, load_lineage_config, transport_config

LAKE = "s3://lake-bucket/lake"


def test_every_environment_block_is_valid() -> None:
    for environment in load_yaml("lineage/transport.yaml"):
        config = load_lineage_config(environment)
        assert config.raw_events_uri(LAKE) == f"{LAKE}/_lineage/raw"


def test_lake_and_two_catalogs_make_a_composite() -> None:
    config = LineageConfig(
        raw_events="{lake_root}/_lineage/raw",
        catalogs=(
            Catalog(name="datahub", kind="datahub", url="https://gms.example/", secret="lineage"),
            Catalog(name="marquez", kind="marquez", url="https://marquez.example"),
        ),
    )
    transport = transport_config(config, LAKE + "/", {"lineage": "lineage_api"})
    assert transport["type"] == "composite" and transport["continue_on_failure"] is True
    lake, datahub, marquez = transport["transports"]
    assert lake == {
        "name": "lake",
        "type": "file",
        "log_file_path": f"{LAKE}/_lineage/raw/event",
        "append": False,
    }
    assert datahub["url"] == "https://gms.example"
    assert datahub["endpoint"] == "openapi/openlineage/api/v1/lineage"
    assert datahub["auth"] == {
        "type": "data_platform.lineage.transport.ConnectionTokenProvider",
        "conn_id": "lineage_api",
    }
    assert marquez["endpoint"] == "api/v1/lineage" and "auth" not in marquez
    assert marquez["retry"] == {"total": 3}


def test_one_transport_alone_and_nothing_is_noop() -> None:
    local = transport_config(LineageConfig(raw_events="{lake_root}/_lineage/raw"), "file:///tmp/lake")
    assert local == {"type": "file", "log_file_path": "/tmp/lake/_lineage/raw/event", "append": False}
    assert transport_config(LineageConfig(), LAKE) == {"type": "noop"}


def test_the_client_builds_the_composite(tmp_path) -> None:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.composite import CompositeTransport

    config = LineageConfig(
        raw_events="{lake_root}/raw", catalogs=(Catalog(name="m", kind="marquez", url="http://127.0.0.1:9"),)
    )
    client = OpenLineageClient(config={"transport": transport_config(config, f"file://{tmp_path}")})
    assert isinstance(client.transport, CompositeTransport)
    assert len(client.transport.transports) == 2


def test_unknown_secret_and_push_names_are_refused() -> None:
    config = LineageConfig(catalogs=(Catalog(name="d", kind="datahub", url="https://x", secret="nope"),))
    with pytest.raises(ConfigError, match="'nope'"):
        transport_config(config, LAKE, {"lineage": "lineage_api"})
    with pytest.raises(ConfigError, match="unknown catalogs"):
        LineageConfig(push=("ghost",)).push_catalogs()


def test_catalog_urls_from_the_environment() -> None:
    config = LineageConfig(
        raw_events="{lake_root}/_lineage/raw",
        catalogs=(
            Catalog(name="local", kind="marquez", url="${env:LINEAGE_LOCAL_CATALOG_URL}"),
            Catalog(name="fixed", kind="datahub", url="https://gms.example"),
        ),
    )
    resolved = config.with_env({"LINEAGE_LOCAL_CATALOG_URL": "http://127.0.0.1:40123"})
    assert [c.url for c in resolved.catalogs] == ["http://127.0.0.1:40123", "https://gms.example"]
    assert [c.name for c in config.with_env({}).catalogs] == ["fixed"]  # unset: left out
    local = load_lineage_config("local")  # this process sets no URL: the lake alone
    assert local.catalogs == () and local.raw_events == "{lake_root}/_lineage/raw"


def test_unknown_environment_names_the_file() -> None:
    with pytest.raises(ConfigError, match="transport.yaml"):
        load_lineage_config("staging")
