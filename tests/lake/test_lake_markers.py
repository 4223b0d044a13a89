"""Processed markers: one object per processed file, per consumer."""

from __future__ import annotations

import json

import pytest

from data_platform.lake import storage
from data_platform.lake.markers import ProcessedMarkers


def test_marked_files_are_no_longer_unprocessed(local_lake):
    prefix = storage.join(local_lake, "landing", "events")
    for name in ("a.parquet", "b.parquet", "2024/c.parquet"):
        storage.write_bytes(storage.join(prefix, name), b"x")
    files = storage.list_files(prefix)
    markers = ProcessedMarkers(local_lake, "dag_a")

    markers.mark([files[0].uri], {"run_id": "r1"})

    assert [f.name for f in markers.unprocessed(files, prefix)] == ["a.parquet", "b.parquet"]
    assert markers.is_processed(files[0].uri)
    record = json.loads(storage.read_bytes(markers.marker_uri(files[0].uri)))
    assert record["file"] == files[0].uri and record["run_id"] == "r1" and record["consumer"] == "dag_a"
    assert (
        markers.marker_uri(files[0].uri)
        == f"{local_lake}/_processed/dag_a/landing/events/2024/c.parquet.json"
    )
    # Other consumers keep their own state, and markers never show up as data files.
    assert len(ProcessedMarkers(local_lake, "dag_b").unprocessed(files, prefix)) == 3
    assert len(storage.list_files(local_lake)) == 3


def test_consumer_names_are_validated(local_lake):
    with pytest.raises(ValueError, match="not valid"):
        ProcessedMarkers(local_lake, "../escape")


def test_markers_on_s3(aws_lake):
    prefix = storage.join(aws_lake, "cdc", "sales", "orders")
    storage.write_bytes(prefix + "/LOAD00000001.parquet", b"x")
    storage.write_bytes(prefix + "/20240101-000000000.parquet", b"x")
    markers = ProcessedMarkers(aws_lake, "cdc_sales")
    files = storage.list_files(prefix)

    markers.mark([f.uri for f in files if "LOAD" in f.uri])

    assert [f.name for f in markers.unprocessed(files, prefix)] == ["20240101-000000000.parquet"]
