"""OpenLineage run events from the jobs, through openlineage-python.

The transport comes from the usual OpenLineage configuration (``OPENLINEAGE_URL``,
``OPENLINEAGE__TRANSPORT__*`` environment variables or an ``OPENLINEAGE_CONFIG`` file), or from
a transport dict passed explicitly. Without any of these the emitter is a no-op: jobs never
print events to the console by accident, and a lineage backend outage never fails a job.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spark_jobs.common import naming
from spark_jobs.common.lake import normalize_uri
from spark_jobs.common.spark_transport import NAMESPACE_KEY, transport_from_spark_conf

log = logging.getLogger(__name__)

PRODUCER = "https://github.com/acme/data-platform/spark_jobs"
NAMESPACE_ENV_VAR = "OPENLINEAGE_NAMESPACE"
# What PlatformPodOperator passes to a pod's job: the Airflow task run, "<namespace>/<job name>/<run id>"
# (the OpenLineage provider's lineage_parent_id macro; dbt-ol reads the same variable)
PARENT_ID_ENV_VAR = "OPENLINEAGE_PARENT_ID"
DEFAULT_NAMESPACE = "data-platform"
# What SparkJobOperator passes to the OpenLineage Spark agent: the Airflow task run (parent run facet)
PARENT_CONF = {
    "namespace": "spark.openlineage.parentJobNamespace",
    "name": "spark.openlineage.parentJobName",
    "run_id": "spark.openlineage.parentRunId",
}


@dataclass(frozen=True)
class ParentRun:
    """The Airflow task run a job's events belong to (OpenLineage ``parent`` run facet)."""

    namespace: str
    name: str
    run_id: str

    @classmethod
    def from_spark_conf(cls, conf: Mapping[str, str]) -> ParentRun | None:
        """From ``spark.openlineage.parent*`` (None when the task passed none)."""
        values = {key: conf.get(name) for key, name in PARENT_CONF.items()}
        if not all(values.values()):
            return None
        return cls(namespace=str(values["namespace"]), name=str(values["name"]), run_id=str(values["run_id"]))

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> ParentRun | None:
        """From ``OPENLINEAGE_PARENT_ID`` (``<namespace>/<job name>/<run id>``; None when unset or
        malformed, which is logged: lineage never stops a job)."""
        value = (os.environ if env is None else env).get(PARENT_ID_ENV_VAR, "")
        if not value:
            return None
        namespace, _, rest = value.rpartition("/")
        namespace, _, name = namespace.rpartition("/")
        if not (namespace and name and rest):
            log.warning(
                "%s=%r is not <namespace>/<job name>/<run id>; events get no parent", PARENT_ID_ENV_VAR, value
            )
            return None
        return cls(namespace=namespace, name=name, run_id=rest)


@dataclass(frozen=True)
class LineageDataset:
    """An OpenLineage dataset (names: :mod:`spark_jobs.common.naming`)."""

    namespace: str
    name: str
    facets: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_uri(cls, uri: str) -> LineageDataset:
        """A lake file or folder (``s3://bucket/key``, ``file:///path``, a local path)."""
        return cls(*naming.from_uri(normalize_uri(uri)))

    @classmethod
    def from_url(cls, url: str) -> LineageDataset:
        """An HTTP API endpoint (e.g. the Datadog logs intake)."""
        return cls(*naming.http(url))

    def copied_from(
        self, sources: Sequence[LineageDataset], columns: Sequence[tuple[str, str]]
    ) -> LineageDataset:
        """This dataset with ``schema`` and ``columnLineage`` facets: each of ``columns``
        (``[(name, type)]``) copied from the same column of each source (DIRECT, IDENTITY). For
        mappings the Spark agent cannot see, e.g. DMS files (read by path, columns from the
        file headers) to the lake table."""
        mapping = {name: [ColumnSource(s, name) for s in sources] for name, _ in columns}
        return self.with_column_lineage(mapping, columns)

    def with_column_lineage(
        self, mapping: Mapping[str, Sequence[ColumnSource]], columns: Sequence[tuple[str, str]] = ()
    ) -> LineageDataset:
        """This dataset with a ``columnLineage`` facet (``mapping``: column -> its sources) and,
        given ``columns`` (``[(name, type)]``), a ``schema`` facet."""
        from openlineage.client.facet_v2 import column_lineage_dataset as cl
        from openlineage.client.facet_v2 import schema_dataset

        lineage = cl.ColumnLineageDatasetFacet(
            fields={
                name: cl.Fields(
                    inputFields=[
                        cl.InputField(
                            namespace=c.dataset.namespace,
                            name=c.dataset.name,
                            field=c.field,
                            transformations=[cl.Transformation(type=c.transformation, subtype=c.subtype)],
                        )
                        for c in sources
                    ],
                    transformationDescription="",
                    transformationType="",
                )
                for name, sources in mapping.items()
            }
        )
        facets: dict[str, Any] = {**self.facets, "columnLineage": lineage}
        if columns:
            facets["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in columns]
            )
        return LineageDataset(self.namespace, self.name, facets)


@dataclass(frozen=True)
class ColumnSource:
    """One source of a column: ``field`` of ``dataset``, with the OpenLineage transformation
    (``DIRECT``/``INDIRECT`` and a subtype such as ``IDENTITY``, ``TRANSFORMATION``, ``FILTER``)."""

    dataset: LineageDataset
    field: str
    transformation: str = "DIRECT"
    subtype: str = "IDENTITY"


def lineage_configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment configures an OpenLineage transport."""
    env = os.environ if env is None else env
    if env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    return bool(
        env.get("OPENLINEAGE_URL")
        or env.get("OPENLINEAGE_CONFIG")
        or any(key.startswith("OPENLINEAGE__TRANSPORT__") for key in env)
    )


def stable_run_uuid(*parts: str) -> str:
    """A UUID derived from the run id (OpenLineage wants a UUID; reruns map to the same one)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


class LineageEmitter:
    """Emits START / COMPLETE / FAIL run events; a no-op without a configured transport."""

    def __init__(self, client: Any | None, namespace: str, parent: ParentRun | None = None) -> None:
        self._client = client
        self.namespace = namespace
        self.parent = parent

    @classmethod
    def from_environment(
        cls,
        transport: Mapping[str, Any] | None = None,
        namespace: str | None = None,
        parent: ParentRun | None = None,
    ) -> LineageEmitter:
        """An emitter configured from ``transport`` (an OpenLineage transport dict) or the env;
        its events carry ``parent`` (see :meth:`ParentRun.from_spark_conf`), else the env's
        (:meth:`ParentRun.from_environment`), as parent run facet."""
        namespace = namespace or os.environ.get(NAMESPACE_ENV_VAR, DEFAULT_NAMESPACE)
        parent = parent or ParentRun.from_environment()
        if transport is None and not lineage_configured():
            return cls(None, namespace, parent)
        try:
            from openlineage.client import OpenLineageClient

            config = {"transport": dict(transport)} if transport is not None else None
            return cls(OpenLineageClient(config=config), namespace, parent)
        except Exception:  # noqa: BLE001 - lineage must never stop a job
            log.warning("OpenLineage client could not be configured; lineage disabled", exc_info=True)
            return cls(None, namespace, parent)

    @classmethod
    def for_spark_job(cls, conf: Mapping[str, str]) -> LineageEmitter:
        """The emitter of a Spark job's own events, from its Spark conf: the Airflow task as
        parent (``spark.openlineage.parent*``); the environment's transport and namespace, else
        the OpenLineage agent's (``spark.openlineage.transport.*``, ``spark.openlineage.namespace``:
        on EMR Serverless only the conf configures lineage), so both reach the same place."""
        transport = None
        if not lineage_configured():
            try:
                transport = transport_from_spark_conf(conf)
                if transport is not None and transport["type"] == "file":
                    # the agent creates its file's folder only when it first writes; a job's own
                    # START may come first
                    Path(transport["log_file_path"]).parent.mkdir(parents=True, exist_ok=True)
            except (KeyError, ValueError, OSError):  # lineage must never stop a job
                log.warning("The agent's OpenLineage transport cannot carry the job's events", exc_info=True)
        namespace = os.environ.get(NAMESPACE_ENV_VAR) or conf.get(NAMESPACE_KEY)
        return cls.from_environment(transport, namespace, ParentRun.from_spark_conf(conf))

    @property
    def enabled(self) -> bool:
        return self._client is not None

    def emit(
        self,
        event_type: str,
        job_name: str,
        run_id: str,
        inputs: Sequence[LineageDataset] = (),
        outputs: Sequence[LineageDataset] = (),
        error_message: str | None = None,
    ) -> bool:
        """Emit one run event (``START``, ``COMPLETE``, ``FAIL``...); ``True`` when it was sent."""
        if self._client is None:
            return False
        try:
            from openlineage.client.event_v2 import (
                InputDataset,
                Job,
                OutputDataset,
                Run,
                RunEvent,
                RunState,
            )
            from openlineage.client.facet_v2 import error_message_run, parent_run

            run_facets: dict[str, Any] = {}
            if self.parent:
                run_facets["parent"] = parent_run.ParentRunFacet(
                    run=parent_run.Run(runId=self.parent.run_id),
                    job=parent_run.Job(namespace=self.parent.namespace, name=self.parent.name),
                )
            if error_message:
                run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                    message=error_message, programmingLanguage="python"
                )
            event = RunEvent(
                eventType=RunState[event_type],
                eventTime=datetime.now(UTC).isoformat(),
                run=Run(runId=stable_run_uuid(self.namespace, job_name, run_id), facets=run_facets),
                job=Job(namespace=self.namespace, name=job_name),
                inputs=[
                    InputDataset(namespace=d.namespace, name=d.name, facets=dict(d.facets)) for d in inputs
                ],
                outputs=[
                    OutputDataset(namespace=d.namespace, name=d.name, facets=dict(d.facets)) for d in outputs
                ],
                producer=PRODUCER,
            )
            self._client.emit(event)
        except Exception:  # noqa: BLE001 - lineage must never stop a job
            log.warning("OpenLineage event %s for %s not sent", event_type, job_name, exc_info=True)
            return False
        return True
