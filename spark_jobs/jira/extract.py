"""Sync a Jira Cloud site into the lake (runs as a pod task; no Spark).

    python -m spark_jobs.jira.extract --config include/jira/jira.yaml --lake-root s3://lake \\
        [--connection-env JIRA_CLOUD_CONN] [--full true | --since 2026-01-01]

The connection comes from the environment variable named by ``--connection-env``: the Airflow
connection as JSON (``host`` = site URL, ``login`` = account email, ``password`` = API token),
which the pod task passes as a secret at run time. Prints the sync summary as JSON (also the
task's XCom); with an OpenLineage transport configured, emits the sync's column lineage (Jira
REST API -> landing, :mod:`spark_jobs.jira.sync_lineage`). Exit codes: 0 committed, 1 the sync
failed (nothing committed, cursor unchanged), 2 bad arguments, config or connection.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from spark_jobs.common.args import uri_arg
from spark_jobs.common.logs import configure_json_logging
from spark_jobs.common.task_result import write_task_result
from spark_jobs.jira.client import JiraApiError, JiraClient
from spark_jobs.jira.config import ConfigError, load_config
from spark_jobs.jira.layout import SiteLayout
from spark_jobs.jira.sync import SiteSync, SyncError
from spark_jobs.jira.sync_lineage import emit_sync_lineage

log = logging.getLogger("spark_jobs.jira.extract")
DEFAULT_CONNECTION_ENV = "JIRA_CLOUD_CONN"


def client_from_connection(value: str | None, env_name: str) -> JiraClient:
    """A client from the connection JSON; errors name the variable, never a value."""
    if not value:
        raise ConfigError(
            f"{env_name} is not set: the pod task must pass the Jira connection as a secret "
            "(PlatformPodOperator(secrets=['jira_cloud']) and an Airflow connection for it)."
        )
    try:
        conn: dict[str, Any] = json.loads(value)
    except ValueError:
        raise ConfigError(f"{env_name} is not an Airflow connection in JSON form.") from None
    missing = [k for k in ("host", "login", "password") if not conn.get(k)]
    if missing:
        raise ConfigError(
            f"The Jira connection lacks {missing}: host = site URL (https://<site>.atlassian.net), "
            "login = account email, password = API token."
        )
    site_url = site_url_from_host(str(conn["host"]), conn.get("port"))
    return JiraClient(site_url=site_url, email=str(conn["login"]), api_token=str(conn["password"]))


def site_url_from_host(host: str, port: Any = None) -> str:
    """The site URL (``scheme://name[:port]``) from the connection's host (a bare name means
    https) and port; ``ConfigError`` for a host with credentials (never echoed), another scheme
    or a path (a page of the site copied from the browser), which no retry would fix."""
    parsed = urlsplit(host if "://" in host else f"https://{host}")
    fix = "host = the site URL only, e.g. https://acme.atlassian.net"
    if parsed.username is not None or parsed.password is not None:
        raise ConfigError(
            f"The Jira connection's host holds credentials; {fix}, login = account email, password = API token."
        )
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"The Jira connection's host {host!r} is not an http(s) URL; {fix}.")
    if parsed.path.strip("/") or parsed.query or parsed.fragment:
        raise ConfigError(
            f"The Jira connection's host {host!r} has a path or query; {fix} "
            f"({parsed.scheme}://{parsed.netloc} here)."
        )
    netloc = parsed.netloc if parsed.port is not None or not port else f"{parsed.netloc}:{int(port)}"
    return f"{parsed.scheme}://{netloc}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spark_jobs.jira.extract", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the ingestion config (YAML), path or URI")
    parser.add_argument("--lake-root", type=uri_arg, required=True)
    parser.add_argument("--connection-env", default=DEFAULT_CONNECTION_ENV)
    parser.add_argument(
        "--full", type=_flag, default=False, help="true: ignore the cursor and download every issue"
    )
    parser.add_argument(
        "--since",
        default="",
        help="backfill: search from this UTC date/time (ISO 8601) instead of the cursor",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def _flag(value: str) -> bool:
    if value.strip().lower() not in ("true", "false", ""):
        raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")
    return value.strip().lower() == "true"


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_json_logging(args.log_level)
    try:
        config = load_config(args.config)
        if args.full and args.since:
            raise ConfigError("give --full true or --since, not both")
        options = config.sync_options(full=args.full, since=_since(args.since))
        client = client_from_connection(os.environ.get(args.connection_env), args.connection_env)
    except (ConfigError, SyncError, ValueError) as err:
        log.error("%s", err)
        return 2
    layout = SiteLayout(args.lake_root, config.site)
    try:
        result = SiteSync(client, layout, options).run()
    except (JiraApiError, SyncError) as err:
        log.error("Sync failed, nothing committed, the cursor did not move: %s", err)
        return 1
    finally:
        client.close()
    emit_sync_lineage(client.site_url, layout, result.sync_date, result.sync_id)
    summary = result.as_dict()
    write_task_result(summary)
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
