"""The sync job's command line: connection from the pod's secret variable, exit codes, no secret
in the output, and a test config of its own."""

from __future__ import annotations

import json

import pytest

from spark_jobs.jira.config import ConfigError
from spark_jobs.jira.extract import main, site_url_from_host
from tests.jira.landing import committed_syncs

CONFIG = """
site: cli-test
projects: [OPS]
page_size: 4
lookback_minutes: 5
"""


def _config(tmp_path):
    path = tmp_path / "jira.yaml"
    path.write_text(CONFIG)
    return str(path)


def test_sync_from_the_connection_variable(jira, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JIRA_TEST_CONN", json.dumps(jira.connection()))
    lake = f"file://{tmp_path / 'lake'}"
    code = main(["--config", _config(tmp_path), "--lake-root", lake, "--connection-env", "JIRA_TEST_CONN",
                 "--full", "false", "--since", ""])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0
    summary = json.loads(out.out.strip().splitlines()[-1])
    assert summary["jql"].startswith('project in ("OPS")') and summary["full"]
    assert jira.state.api_token not in out.out + out.err
    from spark_jobs.jira.layout import SiteLayout

    assert len(committed_syncs(SiteLayout(lake, "cli-test"))) == 1


def test_bad_credentials_fail_without_commit_or_secret_in_the_log(jira, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JIRA_TEST_CONN", json.dumps({**jira.connection(), "password": "wrong-secret-token"}))
    lake = f"file://{tmp_path / 'lake'}"
    assert (
        main(["--config", _config(tmp_path), "--lake-root", lake, "--connection-env", "JIRA_TEST_CONN"]) == 1
    )
    out = capsys.readouterr()
    assert "401" in out.err and "wrong-secret-token" not in out.out + out.err
    from spark_jobs.jira.layout import SiteLayout

    assert committed_syncs(SiteLayout(lake, "cli-test")) == []


def test_missing_connection_and_bad_config_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("JIRA_CLOUD_CONN", raising=False)
    assert main(["--config", _config(tmp_path), "--lake-root", str(tmp_path)]) == 2
    assert "JIRA_CLOUD_CONN is not set" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: x\nprojects: [lower]\nlookback_minutes: 0\n")
    assert main(["--config", str(bad), "--lake-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "projects" in err and "lookback_minutes" in err


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("https://acme.atlassian.net", None, "https://acme.atlassian.net"),
        ("acme.atlassian.net/", None, "https://acme.atlassian.net"),
        ("http://127.0.0.1", 8181, "http://127.0.0.1:8181"),
        ("http://127.0.0.1:8181", 9999, "http://127.0.0.1:8181"),
    ],
)
def test_the_site_url_from_the_connection(host, port, url):
    assert site_url_from_host(host, port) == url


@pytest.mark.parametrize(
    ("host", "error"),
    [
        ("https://sync-bot:ATATT3xSECRET@acme.atlassian.net", "holds credentials"),
        ("htps://acme.atlassian.net", "not an http"),
        ("https://acme.atlassian.net/jira/software/projects/OPS/boards/1", "has a path"),
        ("https://acme.atlassian.net/?jql=project%3DOPS", "has a path or query"),
    ],
)
def test_a_bad_host_exits_2_at_once_naming_the_fix_and_no_secret(host, error, tmp_path, monkeypatch, capsys):
    with pytest.raises(ConfigError, match=error):
        site_url_from_host(host)
    conn = {"conn_type": "http", "host": host, "login": "bot@acme.com", "password": "tok"}
    monkeypatch.setenv("JIRA_TEST_CONN", json.dumps(conn))
    lake = f"file://{tmp_path / 'lake'}"
    assert (
        main(["--config", _config(tmp_path), "--lake-root", lake, "--connection-env", "JIRA_TEST_CONN"]) == 2
    )
    out = capsys.readouterr()
    assert "https://acme.atlassian.net" in out.err and "ATATT3xSECRET" not in out.out + out.err
