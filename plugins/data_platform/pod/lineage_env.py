"""The OpenLineage settings a pod's job gets: where its events go, and the Airflow task run they belong to.

A job in a pod (``spark_jobs.jira.extract``, the Datadog log shipper...) emits its own events
with openlineage-python (:mod:`spark_jobs.common.lineage`). PlatformPodOperator gives it, as
environment variables set when the task runs:

- the parent run, on both targets: ``OPENLINEAGE_PARENT_ID`` =
  ``<namespace>/<job name>/<run id>`` of the Airflow task run, from the OpenLineage provider's
  ``lineage_parent_id`` macro (the variable and form OpenLineage's own integrations, e.g.
  dbt-ol, read; https://airflow.apache.org/docs/apache-airflow-providers-openlineage/stable/macros.html).
  The task's events (the provider's listener) carry the same run id, so the job's events link to them.
- the transport, on target ``aws``: the OpenLineage Spark agent's transport of the environment
  (``spark.openlineage.transport.*`` and ``spark.openlineage.namespace`` of the Spark conf:
  include/spark/defaults.yaml, then include/spark/environments.yaml), which SparkJobOperator's
  jobs use on EMR Serverless, as openlineage-python's ``OPENLINEAGE__TRANSPORT__*`` variables
  and ``OPENLINEAGE_NAMESPACE``. Locally the pod's process inherits the worker's
  ``OPENLINEAGE_CONFIG`` and ``OPENLINEAGE_NAMESPACE`` (the local runtime's transport, the one
  the local Spark jobs' own events use), so nothing is added.

No credential reaches the pod spec: the Spark conf refuses credential-like keys and URLs with a
password (``data_platform.spark.conf.refuse_secrets``), so the agent's transport, and the pod's,
holds none. A catalog behind an API key takes the Airflow-side events (include/lineage/transport.yaml,
the key read from the connection when an event is sent); the jobs' events go to the endpoint
the Spark agent reaches without a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from data_platform.config import ConfigError

if TYPE_CHECKING:
    from data_platform.settings import PlatformSettings

PARENT_ID_ENV = "OPENLINEAGE_PARENT_ID"
NAMESPACE_ENV = "OPENLINEAGE_NAMESPACE"
CLIENT_PREFIX = "OPENLINEAGE__TRANSPORT__"
AGENT_PREFIX = "spark.openlineage.transport."
AGENT_NAMESPACE = "spark.openlineage.namespace"
# The agent's transport settings (https://openlineage.io/docs/integrations/spark/configuration/transport)
# that openlineage-python's http/console transports take, by the client's name.
AGENT_TYPES = ("http", "console")
AGENT_SETTINGS = {"type": "TYPE", "url": "URL", "endpoint": "ENDPOINT", "compression": "COMPRESSION"}
AGENT_TIMEOUT = "timeoutInMillis"  # the client's TIMEOUT is in seconds


def parent_env(context: Mapping[str, Any]) -> dict[str, str]:
    """``{"OPENLINEAGE_PARENT_ID": "<namespace>/<dag_id>.<task_id>/<run id>"}`` of the task run in
    ``context`` (the provider's ``lineage_parent_id``: the run id depends on the try number)."""
    from airflow.providers.openlineage.plugins.macros import lineage_parent_id

    return {PARENT_ID_ENV: str(lineage_parent_id(context["ti"]))}


def agent_transport_env(conf: Mapping[str, str]) -> dict[str, str]:
    """The OpenLineage Spark agent's transport and namespace in ``conf`` (a Spark conf) as
    openlineage-python environment variables; empty when the conf sets no transport type.

    :raises ConfigError: a transport type or setting pods cannot take (named, with the supported ones).
    """
    settings = {k.removeprefix(AGENT_PREFIX): v for k, v in conf.items() if k.startswith(AGENT_PREFIX)}
    kind = settings.get("type")
    if not kind:
        return {}
    if kind not in AGENT_TYPES:
        raise ConfigError(
            f"{AGENT_PREFIX}type={kind!r}: pod jobs take the agent's transport of type "
            f"{' or '.join(AGENT_TYPES)} only; set one in include/spark/environments.yaml."
        )
    env = {NAMESPACE_ENV: conf[AGENT_NAMESPACE]} if conf.get(AGENT_NAMESPACE) else {}
    for key, value in settings.items():
        if key == AGENT_TIMEOUT:
            env[CLIENT_PREFIX + "TIMEOUT"] = str(int(value) / 1000)
        elif key in AGENT_SETTINGS:
            env[CLIENT_PREFIX + AGENT_SETTINGS[key]] = value
        else:
            raise ConfigError(
                f"{AGENT_PREFIX}{key} has no openlineage-python equivalent for pod jobs (they take "
                f"{', '.join([*AGENT_SETTINGS, AGENT_TIMEOUT])}); remove it from include/spark/environments.yaml."
            )
    return env


def transport_env(settings: PlatformSettings) -> dict[str, str]:
    """The transport variables of a pod on the current target (see the module docstring):
    the environment's Spark agent transport on ``aws``, nothing locally."""
    if settings.is_local:
        return {}
    from data_platform.spark.conf import build_spark_conf
    from data_platform.spark.environments import load_spark_environment

    environment = load_spark_environment(settings)
    conf = build_spark_conf(
        target=settings.target, environment_conf=environment.conf, environment=environment.name, profiles=()
    )
    return agent_transport_env(conf.values)
