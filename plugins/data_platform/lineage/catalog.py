"""Push the column lineage table to the catalogs (Marquez, DataHub) as OpenLineage events.

Both catalogs ingest OpenLineage run events; a dataset's column lineage is its output
``columnLineage`` facet. The table becomes one ``COMPLETE`` event per (job, output dataset),
with the input datasets and the facet's ``fields.<column>.inputFields`` from the edges, sent
through openlineage-python's ``http`` transport of each catalog (DataHub:
``/openapi/openlineage/api/v1/lineage``, Marquez: ``/api/v1/lineage``). The run id is derived
from the edges of the event, so pushing the same table again sends the same events (catalogs
upsert them).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from data_platform.lineage.columns import ColumnEdge
from data_platform.lineage.transport import Catalog, http_transport

PRODUCER = "https://github.com/acme/data-platform/plugins/data_platform/lineage"


def column_lineage_events(edges: Sequence[ColumnEdge], event_time: datetime) -> list[Any]:
    """One ``RunEvent`` per (job, output dataset) of ``edges`` (sorted)."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import column_lineage_dataset

    groups: dict[tuple[str, str, str, str], list[ColumnEdge]] = {}
    for edge in edges:
        groups.setdefault(
            (edge.job_namespace, edge.job_name, edge.target_namespace, edge.target_name), []
        ).append(edge)
    events = []
    for (job_ns, job_name, out_ns, out_name), group in sorted(groups.items()):
        fields: dict[str, list[Any]] = {}
        for e in group:
            fields.setdefault(e.target_field, []).append(
                column_lineage_dataset.InputField(
                    namespace=e.source_namespace,
                    name=e.source_name,
                    field=e.source_field,
                    transformations=[
                        column_lineage_dataset.Transformation(
                            type=e.transformation, subtype=e.subtype or None
                        )
                    ],
                )
            )
        digest = hashlib.sha256(json.dumps([e.as_dict() for e in group], sort_keys=True).encode()).hexdigest()
        facet = column_lineage_dataset.ColumnLineageDatasetFacet(
            fields={
                name: column_lineage_dataset.Fields(
                    inputFields=inputs, transformationDescription="", transformationType=""
                )
                for name, inputs in sorted(fields.items())
            }
        )
        inputs = sorted({(e.source_namespace, e.source_name) for e in group})
        events.append(
            RunEvent(
                eventType=RunState.COMPLETE,
                eventTime=event_time.astimezone(UTC).isoformat(),
                run=Run(runId=str(uuid.uuid5(uuid.NAMESPACE_URL, digest))),
                job=Job(namespace=job_ns, name=job_name),
                inputs=[InputDataset(namespace=ns, name=name) for ns, name in inputs],
                outputs=[OutputDataset(namespace=out_ns, name=out_name, facets={"columnLineage": facet})],
                producer=PRODUCER,
            )
        )
    return events


def push(
    edges: Sequence[ColumnEdge],
    catalogs: Sequence[Catalog],
    secret_conn_id: Callable[[str], str],
    event_time: datetime,
) -> dict[str, int]:
    """Send the table's events to each catalog; ``{catalog name: events sent}``. A catalog that
    refuses an event raises (the task fails and retries: nothing is silently lost)."""
    from openlineage.client import OpenLineageClient

    events = column_lineage_events(edges, event_time)
    sent: dict[str, int] = {}
    for catalog in catalogs:
        conn_id = secret_conn_id(catalog.secret) if catalog.secret else None
        client = OpenLineageClient(config={"transport": http_transport(catalog, conn_id)})
        for event in events:
            client.transport.emit(event)  # raises on an HTTP error (after the transport's retries)
        sent[catalog.name] = len(events)
    return sent
