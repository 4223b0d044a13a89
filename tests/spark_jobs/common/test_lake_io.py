"""Lake IO primitives on the local filesystem and on S3 (moto server)."""

from __future__ import annotations

import os

import pytest

from spark_jobs.common import lake


def test_normalize_uri_forms(tmp_path):
    assert lake.normalize_uri(str(tmp_path)) == f"file://{tmp_path}"
    assert lake.normalize_uri(f"file:{tmp_path}/") == f"file://{tmp_path}"
    assert lake.normalize_uri("s3a://bucket/a/b/") == "s3://bucket/a/b"
    assert lake.join_uri("s3://b/lake/", "/cdc/", "x") == "s3://b/lake/cdc/x"
    with pytest.raises(ValueError, match="Unsupported URI scheme"):
        lake.normalize_uri("gs://bucket/x")


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path) -> str:
    if request.param == "local":
        return f"file://{tmp_path}/lake"
    return request.getfixturevalue("s3_bucket") + "/lake"


def test_atomic_write_read_and_listing(root):
    lake.write_json_atomic(lake.join_uri(root, "a", "x.json"), {"v": 1})
    lake.write_atomic(lake.join_uri(root, "a", "b", "y.bin"), b"12345")
    assert lake.read_json(lake.join_uri(root, "a", "x.json")) == {"v": 1}
    assert lake.read_json(lake.join_uri(root, "missing.json"), default="none") == "none"
    files = lake.list_files(lake.join_uri(root, "a"))
    assert [f.uri for f in files] == [
        lake.join_uri(root, "a", "b", "y.bin"),
        lake.join_uri(root, "a", "x.json"),
    ]
    assert files[0].size == 5 and files[0].fingerprint
    assert lake.list_dir_names(lake.join_uri(root, "a")) == ["b", "x.json"]
    assert lake.list_files(lake.join_uri(root, "nothing")) == []
    lake.write_atomic(lake.join_uri(root, "a", "b", "y.bin"), b"other")
    assert lake.list_files(lake.join_uri(root, "a"))[0].fingerprint != files[0].fingerprint


def test_create_exclusive_only_once(root):
    uri = lake.join_uri(root, "lock", "1.json")
    assert lake.create_exclusive(uri, b"first") is True
    assert lake.create_exclusive(uri, b"second") is False
    assert lake.read_bytes(uri) == b"first"


def test_copy_and_delete(root, tmp_path):
    source = f"file://{tmp_path}/src.csv"
    lake.write_atomic(source, b"a,b\n")
    target = lake.join_uri(root, "q", "files", "x.csv")
    lake.copy_file(source, target)
    assert lake.read_bytes(target) == b"a,b\n"
    lake.delete(lake.join_uri(root, "q"), recursive=True)
    assert not lake.exists(target)
    lake.delete(target)  # missing objects are ignored


def test_a_clone_keeps_its_bytes_when_the_source_goes(root):
    source, target = (
        lake.join_uri(root, "v=1", "p=a", "f.parquet"),
        lake.join_uri(root, "v=2", "p=a", "f.parquet"),
    )
    lake.write_atomic(source, b"PAR1 data PAR1")
    lake.clone_file(source, target)
    if root.startswith("file://"):  # a hard link: no bytes copied
        assert os.stat(lake.local_path(source)).st_ino == os.stat(lake.local_path(target)).st_ino
    lake.delete(lake.join_uri(root, "v=1"), recursive=True)
    assert lake.read_bytes(target) == b"PAR1 data PAR1"


def test_failed_local_write_keeps_the_old_object_and_no_temp_files(tmp_path, monkeypatch):
    uri = f"file://{tmp_path}/_current.json"
    lake.write_json_atomic(uri, {"version": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        lake.write_json_atomic(uri, {"version": 2})
    assert lake.read_json(uri) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_current.json"]
