"""A processed DMS file landed again alone (same bytes, new mtime / ETag) is not processed again.

Before the tracker recorded digests, a current table's full load landed again after CDC changes
rebuilt the table from the stale full load (deleted keys back, updates reverted, full_load=True:
the warehouse load replaced the warehouse table with it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spark_jobs.cdc.merge import MergeSettings, merge_table
from spark_jobs.cdc.outputs import read_current

pytestmark = pytest.mark.spark


@pytest.mark.parametrize("sink", ["hudi", "snapshot"])
def test_a_full_load_landed_again_alone_does_not_rebuild_the_table(spark, landing, lake, make_config, sink):
    config = make_config()
    folder = Path(landing[len("file://") :]) / "src/public/items"
    folder.mkdir(parents=True)

    def merge(run_id):
        return merge_table(spark, config, MergeSettings(landing, lake, run_id=run_id, sink=sink))

    def rows():
        return sorted((r["id"], r["qty"]) for r in read_current(lake, "src", "items").to_pylist())

    load = folder / "LOAD00000001.csv"
    load.write_text("ts,id,qty,seq\n2024-01-01 00:00:00,1,10,\n2024-01-01 00:00:00,2,20,\n")
    assert merge("r1").status == "ok"
    (folder / "20240101-010000000.csv").write_text(
        "Op,ts,id,qty,seq\nU,2024-01-01 01:00:00,1,11,0001\nD,2024-01-01 01:00:01,2,20,0002\n"
        "I,2024-01-01 01:00:02,3,30,0003\n"
    )
    assert merge("r2").status == "ok"
    assert rows() == [(1, 11), (3, 30)]

    data = load.read_bytes()
    load.unlink()
    load.write_bytes(data)  # the same full load landed again: new mtime / ETag, same bytes
    result = merge("r3")
    assert rows() == [(1, 11), (3, 30)]
    assert not result.full_load and (result.inserted, result.updated, result.deleted) == (0, 0, 0)
    assert result.status == "noop" and result.changes_uri is None
    assert any("landed again with the same bytes" in w and "LOAD00000001.csv" in w for w in result.warnings)
    assert merge("r4").warnings == []  # its new mtime was recorded

    load.write_text("ts,id,qty,seq\n2024-01-02 00:00:00,1,12,\n2024-01-02 00:00:00,4,40,\n")
    result = merge("r5")  # a genuine DMS reload: other bytes, the table is rebuilt from it
    assert result.full_load and rows() == [(1, 12), (4, 40)]
