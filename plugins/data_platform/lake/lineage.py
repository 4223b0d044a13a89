"""OpenLineage datasets for lake files (names: :mod:`data_platform.lineage.naming`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def dataset_identity(uri: str) -> tuple[str, str]:
    """``(namespace, name)``: ``s3://bucket`` + key, or ``file`` + absolute path."""
    from data_platform.lineage import naming

    return naming.from_uri(uri)


def folder_datasets(uris: Iterable[str]) -> list[Any]:
    """One dataset per distinct folder of ``uris`` (a file set is one dataset, not N)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    folders = sorted({uri.rsplit("/", 1)[0] for uri in uris})
    return [Dataset(namespace=ns, name=name) for ns, name in map(dataset_identity, folders)]
