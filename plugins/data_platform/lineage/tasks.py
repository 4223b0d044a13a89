"""What the tasks of the lineage DAG (dags/lineage.py) do, on the current target.

Each function reads the run-time settings (``data_platform.settings``) and the environment's
block of include/lineage/transport.yaml; they return small JSON-able dicts for XCom.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from data_platform.config import ConfigError
from data_platform.lineage.transport import LineageConfig, load_lineage_config
from data_platform.settings import PlatformSettings, get_settings

EDGES_TABLE = "lineage.column_edges"


def lineage_config(settings: PlatformSettings) -> tuple[LineageConfig, str]:
    """The environment's lineage configuration and its raw events folder (a ConfigError when
    the environment lands no raw events)."""
    config = load_lineage_config(settings.environment)
    raw = config.raw_events_uri(settings.lake_root)
    if raw is None:
        raise ConfigError(
            f"Environment {settings.environment!r} lands no raw events (raw_events: null in "
            "include/lineage/transport.yaml); the lineage DAG has nothing to process."
        )
    return config, raw


def environment_transport() -> dict[str, Any]:
    """The OpenLineage transport of the current environment: the value of Airflow's
    ``[openlineage] transport`` option (on MWAA the configuration option
    ``openlineage.transport``; locally the local runtime sets it)."""
    from data_platform.lineage.transport import transport_config

    settings = get_settings()
    config = load_lineage_config(settings.environment)
    return transport_config(config, settings.lake_root, dict(settings.secrets))


def warehouse_naming(settings: PlatformSettings) -> tuple[str, str]:
    """``(namespace, database)`` of the warehouse connection, named by its hook."""
    from data_platform.warehouse.connection import table_dataset_identity, warehouse_hook
    from data_platform.warehouse.tables import TableName

    namespace, name = table_dataset_identity(
        warehouse_hook(settings.warehouse_conn_id), TableName.parse(EDGES_TABLE)
    )
    return namespace, name.split(".", 1)[0]


def process_events() -> dict[str, Any]:
    """Raw events -> validated events (bad ones quarantined) -> the column lineage table, with
    the column lineage of the warehouse SQL added."""
    from data_platform.lineage.processing import process
    from data_platform.lineage.sql import warehouse_sql_edges

    settings = get_settings()
    _, raw = lineage_config(settings)
    namespace, database = warehouse_naming(settings)
    return process(raw, extra_edges=warehouse_sql_edges(namespace, database)).as_dict()


def push_to_catalogs(edges_json_uri: str) -> dict[str, int]:
    """Send the column lineage table to the catalogs of the environment's ``push`` list."""
    from data_platform.lineage.catalog import push
    from data_platform.lineage.processing import read_edges

    settings = get_settings()
    config, _ = lineage_config(settings)
    return push(read_edges(edges_json_uri), config.push_catalogs(), settings.secret_name, datetime.now(UTC))


def spark_runs_since(settings: PlatformSettings, day: date) -> list[Any]:
    """Spark job runs on the current target that can belong to ``day`` (created on it or later;
    see data_platform.lineage.compliance)."""
    from data_platform.lineage import compliance

    if settings.is_local:
        from data_platform.spark.local_logs import local_log_uri

        return compliance.local_runs(Path(local_log_uri().removeprefix("file://")))
    from data_platform.spark.environments import load_spark_environment
    from data_platform.spark.hooks import SparkEmrServerlessHook

    environment = load_spark_environment(settings)
    if environment.emr is None:
        raise ConfigError(f"Spark environment {settings.environment!r} has no emr block.")
    hook = SparkEmrServerlessHook(aws_conn_id=environment.emr.aws_conn_id or settings.aws_conn_id)
    return compliance.emr_runs_since(hook.conn, environment.emr.application_id, compliance.day_start(day))


def check_spark_lineage(day: date, alert_policy: str = "standard") -> dict[str, Any]:
    """Spark job runs of ``day`` (their DAG run's data interval starts on it) that emitted no
    lineage; alerts (``check_failed``) when any."""
    from data_platform.alerting.policies import POLICIES, AlertEvent, send_alert
    from data_platform.lineage import compliance
    from data_platform.lineage.processing import read_raw_events

    settings = get_settings()
    _, raw = lineage_config(settings)
    events, _, _ = read_raw_events(raw)
    runs, missing = compliance.runs_without_lineage(spark_runs_since(settings, day), events, day)
    if missing:
        send_alert(
            POLICIES[alert_policy],
            AlertEvent.CHECK_FAILED,
            f"{len(missing)} Spark job run(s) of {day} emitted no lineage",
            "These runs sent no OpenLineage event naming their Airflow task run as parent: check that "
            "the OpenLineage Spark agent is in the job's Spark conf (include/spark/defaults.yaml, "
            "include/spark/environments.yaml) and that the Airflow task's events reach the transport.",
            {"runs": [r.as_dict() for r in missing]},
        )
    return {
        "day": day.isoformat(),
        "spark_runs": len(runs),
        "without_lineage": [r.as_dict() for r in missing],
    }
