"""OpenLineage events for the lineage tests, built with openlineage-python (as producers do)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, parent_run
from openlineage.client.serde import Serde

PRODUCER = "https://github.com/acme/data-platform/tests"


def run_event(
    job: str,
    inputs: list[tuple[str, str]],
    output: tuple[str, str],
    fields: dict[str, list[tuple[str, str, str]]],
    event_time: str = "2026-01-15T01:00:00+00:00",
    parent_job: str | None = None,
    producer: str = PRODUCER,
) -> dict[str, Any]:
    """A COMPLETE event whose output has a column lineage facet: ``fields`` maps an output
    column to ``(namespace, name, field)`` inputs (DIRECT IDENTITY)."""
    facet = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            column: column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=ns,
                        name=name,
                        field=field,
                        transformations=[
                            column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY")
                        ],
                    )
                    for ns, name, field in sources
                ],
                transformationDescription="",
                transformationType="",
            )
            for column, sources in fields.items()
        }
    )
    run_facets: dict[str, Any] = {}
    if parent_job:
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=str(uuid.uuid5(uuid.NAMESPACE_URL, parent_job))),
            job=parent_run.Job(namespace="airflow", name=parent_job),
        )
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=event_time,
        run=Run(runId=str(uuid.uuid5(uuid.NAMESPACE_URL, job + event_time)), facets=run_facets),
        job=Job(namespace="tests", name=job),
        inputs=[InputDataset(namespace=ns, name=name) for ns, name in inputs],
        outputs=[OutputDataset(namespace=output[0], name=output[1], facets={"columnLineage": facet})],
        producer=producer,
    )
    return json.loads(Serde.to_json(event))
