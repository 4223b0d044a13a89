"""OpenLineage dataset facets the platform's operators attach to what they write.

``schema`` (https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json): the columns and
types of the written table; ``columnLineage`` (1-2-0): each written column from the same-named
column of every input dataset, ``DIRECT`` / ``IDENTITY`` (a load copies values, with a cast to
the column type at most); a procedure load's columns from the staged files' columns through
the procedure's SQL (:func:`data_platform.lineage.sql.procedure_load_lineage`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def schema_facet(columns: Sequence[tuple[str, str]]) -> Any:
    """``schema`` facet of ``[(column, type)]``."""
    from openlineage.client.facet_v2 import schema_dataset

    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=name, type=sql_type) for name, sql_type in columns
        ]
    )


def identity_column_lineage(inputs: Sequence[tuple[str, str]], columns: Sequence[str]) -> Any:
    """``columnLineage`` facet: each of ``columns`` from the same column of each input
    ``(namespace, name)``."""
    return column_lineage(inputs, {column: [(column, "DIRECT", "IDENTITY")] for column in columns})


def column_lineage(
    inputs: Sequence[tuple[str, str]], mapping: Mapping[str, Sequence[tuple[str, str, str]]]
) -> Any:
    """``columnLineage`` facet: each column of ``mapping`` from its ``(input column,
    transformation type, subtype)`` sources, in each input ``(namespace, name)``."""
    from openlineage.client.facet_v2 import column_lineage_dataset as cl

    return cl.ColumnLineageDatasetFacet(
        fields={
            column: cl.Fields(
                inputFields=[
                    cl.InputField(
                        namespace=ns,
                        name=name,
                        field=field,
                        transformations=[cl.Transformation(type=kind, subtype=subtype)],
                    )
                    for field, kind, subtype in sources
                    for ns, name in inputs
                ],
                transformationDescription="",
                transformationType="",
            )
            for column, sources in mapping.items()
        }
    )
