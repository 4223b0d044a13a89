"""OpenLineage events of the log shipping: EMR Serverless log files -> the Datadog logs intake.

Inputs are the job runs' log folders (``<logUri>/applications/...``, S3 or local, named as
:mod:`spark_jobs.common.naming` names lake folders); the output is the intake endpoint the
entries were sent to (``https://http-intake.logs.{site}`` + ``/api/v2/logs``, or the
connection's host), read from the Datadog connection without its API key. A no-op without a
configured OpenLineage transport.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from spark_jobs.common.lineage import LineageDataset, LineageEmitter
from spark_jobs.datadog_logs.api_key import resolve_connection
from spark_jobs.datadog_logs.intake import intake_url

log = logging.getLogger(__name__)


def intake_dataset(options: Mapping[str, Any]) -> LineageDataset:
    """The intake the shipping ``options`` (``runs.shipping_options``) send to."""
    if options.get("intake_url"):
        return LineageDataset.from_url(intake_url(options["intake_url"]))
    connection = resolve_connection(options.get("secret_id"))
    return LineageDataset.from_url(intake_url(connection.host, connection.site))


class ShippingLineage:
    """START, then COMPLETE or FAIL, of one shipping job run (``job_name``, ``run_id``); a
    Spark job passes its ``spark_conf`` (parent run and the agent's transport)."""

    def __init__(
        self,
        job_name: str,
        run_id: str,
        log_folders: Sequence[str],
        options: Mapping[str, Any],
        spark_conf: Mapping[str, str] | None = None,
    ) -> None:
        self.emitter = (
            LineageEmitter.from_environment()
            if spark_conf is None
            else LineageEmitter.for_spark_job(spark_conf)
        )
        self.job_name, self.run_id = job_name, run_id
        self.inputs = [LineageDataset.from_uri(folder) for folder in log_folders]
        self.outputs: list[LineageDataset] = []
        if self.emitter.enabled:
            try:
                self.outputs = [intake_dataset(options)]
            except Exception:  # noqa: BLE001 - lineage must never stop a job (the shipping reports a missing key)
                log.warning(
                    "Datadog intake unknown (no connection); lineage without its output", exc_info=True
                )

    def emit(self, event: str, error: str | None = None) -> bool:
        return self.emitter.emit(
            event, self.job_name, self.run_id, self.inputs, self.outputs, error_message=error
        )
