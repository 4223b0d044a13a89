from __future__ import annotations

import pytest

from data_platform.config import ConfigError
from data_platform.settings import Target, get_settings


def test_local_is_the_default_target(local_dir, monkeypatch):
    monkeypatch.delenv("PIPELINE_TARGET", raising=False)
    settings = get_settings()
    assert settings.target is Target.LOCAL
    assert settings.environment == "local"
    assert settings.lake_root == f"file://{local_dir.resolve()}/lake"
    assert settings.warehouse_conn_id == "warehouse"


def test_aws_target_picks_the_dev_environment(monkeypatch):
    monkeypatch.setenv("PIPELINE_TARGET", "aws")
    settings = get_settings()
    assert settings.environment == "dev"
    assert settings.lake_root.startswith("s3://")
    assert settings.warehouse_conn_id == "redshift_default"


def test_environment_variables_override_settings(monkeypatch):
    monkeypatch.setenv("PIPELINE_TARGET", "aws")
    monkeypatch.setenv("PIPELINE_ENV", "prod")
    monkeypatch.setenv("LAKE_ROOT", "s3://other-bucket/lake")
    settings = get_settings()
    assert settings.environment == "prod"
    assert settings.lake_root == "s3://other-bucket/lake"
    assert settings.lake_uri("cdc", "/shop/", "orders") == "s3://other-bucket/lake/cdc/shop/orders"


def test_unknown_target_names_the_variable_and_the_choices(monkeypatch):
    monkeypatch.setenv("PIPELINE_TARGET", "gcp")
    with pytest.raises(ConfigError, match="PIPELINE_TARGET='gcp'.*'local' or 'aws'"):
        get_settings()


def test_environment_of_another_target_is_refused(monkeypatch):
    monkeypatch.setenv("PIPELINE_TARGET", "local")
    monkeypatch.setenv("PIPELINE_ENV", "prod")
    with pytest.raises(ConfigError, match="is for target 'aws'"):
        get_settings()


def test_unknown_secret_names_the_file_to_edit():
    with pytest.raises(ConfigError, match="No secret named 'salesforce'.*environments.yaml"):
        get_settings().secret_name("salesforce")
    assert get_settings().secret_name("jira") == "jira_api"


def _with_environments(tmp_path, monkeypatch, text: str) -> None:
    """An include folder of its own whose platform/environments.yaml is ``text``."""
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "environments.yaml").write_text(text)
    monkeypatch.setenv("PLATFORM_INCLUDE_PATH", str(tmp_path))
    monkeypatch.setenv("PIPELINE_TARGET", "local")
    monkeypatch.delenv("PIPELINE_ENV", raising=False)


def test_an_invalid_environment_names_every_field_and_the_fix(tmp_path, monkeypatch):
    _with_environments(
        tmp_path,
        monkeypatch,
        "local:\n  target: local\n  lake_root: /no/scheme\n  landing_root: file:///l\n"
        "  artifacts_root: file:///a\n  warehouse_conn_id: warehouse\n  lake_rot: typo\n",
    )
    with pytest.raises(ConfigError) as raised:
        get_settings()
    message = str(raised.value)
    assert "Environment 'local' of include/platform/environments.yaml is invalid" in message
    assert "lake_root: '/no/scheme' must be a file:// or s3:// URI" in message
    assert "lake_rot: Extra inputs are not permitted" in message


def test_a_missing_setting_is_named(tmp_path, monkeypatch):
    _with_environments(
        tmp_path, monkeypatch, "local:\n  target: local\n  lake_root: file:///x\n  landing_root: file:///l\n"
    )
    with pytest.raises(ConfigError, match="artifacts_root: Field required.*warehouse_conn_id: Field required"):
        get_settings()
