"""The OpenLineage Spark agent's transport, for a job's own events (openlineage-python).

A job's own events (column lineage the agent cannot see) go where the agent's go. Locally the
environment configures openlineage-python (``OPENLINEAGE_CONFIG``); on EMR Serverless only the
job's Spark conf does (``spark.openlineage.transport.*``, include/spark/environments.yaml), so
the jobs read the same settings from it.

Agent settings (https://openlineage.io/docs/integrations/spark/configuration/transport) mapped
to openlineage-python's transport config: ``http`` (``url``, ``endpoint``, ``timeoutInMillis``
-> ``timeout`` in seconds, ``auth.type`` = ``api_key`` with ``auth.apiKey``, ``compression``),
``file`` (``location`` -> ``log_file_path``, appended to as the agent does), ``console``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PREFIX = "spark.openlineage.transport."
NAMESPACE_KEY = "spark.openlineage.namespace"
SUPPORTED = ("http", "file", "console")


def transport_from_spark_conf(conf: Mapping[str, str]) -> dict[str, Any] | None:
    """The openlineage-python transport dict of the agent's transport in ``conf``; None when
    the conf has none. ValueError names an agent transport type this mapping does not cover."""
    settings = {key.removeprefix(PREFIX): value for key, value in conf.items() if key.startswith(PREFIX)}
    kind = settings.get("type")
    if not kind:
        return None
    if kind == "http":
        transport: dict[str, Any] = {"type": "http", "url": settings["url"]}
        if settings.get("endpoint"):
            transport["endpoint"] = settings["endpoint"]
        if settings.get("timeoutInMillis"):
            transport["timeout"] = int(settings["timeoutInMillis"]) / 1000
        if settings.get("compression"):
            transport["compression"] = settings["compression"]
        if settings.get("auth.type") == "api_key":
            transport["auth"] = {"type": "api_key", "apiKey": settings["auth.apiKey"]}
        return transport
    if kind == "file":
        return {"type": "file", "log_file_path": settings["location"], "append": True}
    if kind == "console":
        return {"type": "console"}
    raise ValueError(
        f"{PREFIX}type={kind!r}: a job's own events support {', '.join(SUPPORTED)}; "
        "configure the job's events with OPENLINEAGE_CONFIG or OPENLINEAGE__TRANSPORT__* instead."
    )
