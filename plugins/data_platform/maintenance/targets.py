"""The environment's Airflow CLI and REST API for the current target (read at task run time).

aws (MWAA): the CLI endpoint and ``InvokeRestApi`` of the environment the task runs in, named by
``AIRFLOW_ENV_NAME`` (MWAA sets it on every Airflow container), through the platform's AWS
connection; local: the local ``airflow`` CLI and the API server of ``make airflow``
(``AIRFLOW_API_URL``, default http://localhost:8080).
"""

from __future__ import annotations

import os

from data_platform.config import ConfigError
from data_platform.maintenance.airflow_api import AirflowApi, HttpRestApi, MwaaRestApi
from data_platform.maintenance.cleanup import AirflowCli, LocalAirflowCli, MwaaAirflowCli
from data_platform.settings import get_settings

MWAA_ENV_NAME_VAR = "AIRFLOW_ENV_NAME"
LOCAL_API_URL_VAR = "AIRFLOW_API_URL"


def mwaa_environment_name() -> str:
    """The MWAA environment this task runs in; ConfigError outside MWAA."""
    name = os.environ.get(MWAA_ENV_NAME_VAR)
    if not name:
        raise ConfigError(f"{MWAA_ENV_NAME_VAR} is not set: on the aws target these tasks run on MWAA, "
                          "which sets it to the environment's name.")
    return name


def airflow_cli() -> AirflowCli:
    settings = get_settings()
    if settings.is_local:
        return LocalAirflowCli()
    return MwaaAirflowCli(mwaa_environment_name(), aws_conn_id=settings.aws_conn_id, region_name=settings.region)


def airflow_api() -> AirflowApi:
    settings = get_settings()
    if settings.is_local:
        import httpx

        return HttpRestApi(httpx.Client(base_url=os.environ.get(LOCAL_API_URL_VAR, "http://localhost:8080"),
                                        timeout=120))
    return MwaaRestApi(mwaa_environment_name(), aws_conn_id=settings.aws_conn_id, region_name=settings.region)
