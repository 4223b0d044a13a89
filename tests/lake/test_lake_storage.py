"""Lake file helpers on the local file system and on S3 (moto)."""

from __future__ import annotations

import pytest

from data_platform.lake import storage


def test_list_filters_hidden_files_and_pattern(local_lake):
    prefix = storage.join(local_lake, "landing", "events")
    for relative in (
        "a.parquet",
        "2024/01/b.parquet",
        "c.csv",
        "_SUCCESS",
        ".a.parquet.crc",
        "_tmp/d.parquet",
    ):
        storage.write_bytes(storage.join(prefix, relative), b"x" * 3)

    everything = storage.list_files(prefix)
    parquet = storage.list_files(prefix, "*.parquet")

    assert [f.uri.removeprefix(prefix + "/") for f in everything] == [
        "2024/01/b.parquet",
        "a.parquet",
        "c.csv",
    ]
    assert [f.name for f in parquet] == ["b.parquet", "a.parquet"]
    assert all(f.size == 3 for f in everything)
    assert storage.list_files(storage.join(local_lake, "missing")) == []


def test_read_write_copy_move_keep_bytes(local_lake):
    src = storage.join(local_lake, "in", "x.bin")
    storage.write_bytes(src, b"0123456789")

    copied = storage.copy_file(src, storage.join(local_lake, "copy", "x.bin"))
    moved = storage.move_file(src, storage.join(local_lake, "moved", "sub", "x.bin"))

    assert storage.read_head(copied, 4) == b"0123"
    assert storage.read_bytes(moved) == b"0123456789"
    assert not storage.exists(src) and storage.exists(copied)
    assert storage.file_info(moved).size == 10


def test_uri_helpers_reject_foreign_locations(local_lake):
    assert storage.relative_to(local_lake + "/a/b.txt", local_lake) == "a/b.txt"
    with pytest.raises(ValueError, match="not under"):
        storage.relative_to("file:///elsewhere/b.txt", local_lake)
    with pytest.raises(ValueError, match="must start with"):
        storage.lake_path("gs://bucket/x")


def test_as_uri_list_accepts_lists_single_uris_and_rendered_templates():
    assert storage.as_uri_list(None) == []
    assert storage.as_uri_list("s3://b/k") == ["s3://b/k"]
    assert storage.as_uri_list("['s3://b/1', 's3://b/2']") == ["s3://b/1", "s3://b/2"]
    assert storage.as_uri_list(("s3://b/1",)) == ["s3://b/1"]
    with pytest.raises(TypeError):
        storage.as_uri_list([1])


def test_s3_lake_lists_and_moves_through_object_storage(aws_lake):
    prefix = storage.join(aws_lake, "landing", "received")
    storage.write_bytes(prefix + "/day=1/a.csv", b"id\n1\n")
    storage.write_bytes(prefix + "/_SUCCESS", b"")

    files = storage.list_files(prefix)
    moved = storage.move_file(files[0].uri, storage.join(aws_lake, "landing", "accepted", "day=1", "a.csv"))

    assert [f.uri for f in files] == [prefix + "/day=1/a.csv"] and files[0].size == 5
    assert storage.read_bytes(moved) == b"id\n1\n"
    assert storage.list_files(prefix) == []
