"""Bad input: each case fails the table with a clear error, quarantines the evidence with a
reason, leaves the table and its state unchanged and the files pending (nothing lost)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from spark_jobs.cdc.dms_files import list_landed_files
from spark_jobs.cdc.layout import TableLayout, landing_table_uri
from spark_jobs.cdc.merge import MergeSettings, merge_table, merge_tables
from spark_jobs.cdc.outputs import read_current
from spark_jobs.cdc.tracker import FileTracker

pytestmark = pytest.mark.spark

CDC_HEADER = ["Op", "ts", "id", "qty", "seq"]
NEW_FILE = "20240101-010000000.csv"


class Table:
    """A copied base table: landing + lake folders and the test table's config."""

    def __init__(self, root: Path, config) -> None:
        self.root = root
        self.landing = f"file://{root}/landing"
        self.lake = f"file://{root}/lake"
        self.config = config
        self.layout = TableLayout(self.lake, "src", "items")
        self.folder = root / "landing" / "src" / "public" / "items"

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path

    def state_bytes(self) -> bytes:
        return (self.root / "lake" / "_state" / "cdc" / "src" / "items" / "state.json").read_bytes()

    def rows(self):
        return sorted((r["id"], r["qty"]) for r in read_current(self.lake, "src", "items").to_pylist())

    def pending(self) -> list[str]:
        tracker = FileTracker(self.layout)
        landed, _ = list_landed_files(landing_table_uri(self.landing, self.config.landing_folder))
        return [f.rel_path for f in tracker.pending_files(tracker.load_state(), landed)]

    def merge(self, spark, run_id: str = "bad-run", config=None):
        return merge_table(
            spark,
            config or self.config,
            MergeSettings(self.landing, self.lake, run_id=run_id, sink="snapshot"),
        )

    def quarantine(self, run_id: str = "bad-run") -> Path:
        return self.root / "lake" / "_quarantine" / "cdc" / "src" / "items" / run_id


@pytest.fixture(scope="module")
def loaded(spark, tmp_path_factory, make_config):
    """A table loaded once (version 1: ids 1 and 2); each test works on a copy."""
    root = tmp_path_factory.mktemp("base")
    table = Table(root, make_config())
    table.write(
        "LOAD00000001.csv",
        "ts,id,qty,seq\n2024-01-01 00:00:00.000000,1,10,\n2024-01-01 00:00:00.000000,2,20,\n",
    )
    result = table.merge(spark, run_id="load")
    assert result.status == "ok", result.error
    return root


@pytest.fixture
def table(loaded, tmp_path, make_config) -> Table:
    shutil.copytree(loaded, tmp_path / "t")
    return Table(tmp_path / "t", make_config())


def assert_nothing_lost(table: Table, state_before: bytes, run_id: str = "bad-run") -> None:
    assert table.state_bytes() == state_before
    assert table.rows() == [(1, 10), (2, 20)]
    assert table.pending() == [NEW_FILE]
    reason = json.loads((table.quarantine(run_id) / "reason.json").read_text())
    assert reason["table_id"] == "src.items" and reason["files"] == [NEW_FILE]


@pytest.mark.parametrize(
    ("rows", "kind", "reason"),
    [
        (
            "U,2024-01-01 01:00:00.000000,,11,1\nU,2024-01-01 01:00:00.000000,2,21,2\n",
            "null_primary_key",
            "null_primary_key: id",
        ),
        ("X,2024-01-01 01:00:00.000000,1,11,1\n", "unknown_op", "unknown_op: X"),
        (
            "U,2024-01-01 01:00:00.000000,1,eleven,1\n",
            "invalid_value",
            "invalid_value: qty is not a valid int",
        ),
        (
            "U,2024-01-01 01:00:00.000000,1,11,1,surplus\n",
            "malformed_row",
            "malformed_row: wrong number of fields or bad quoting",
        ),
    ],
)
def test_bad_rows_fail_the_table_and_are_quarantined(spark, table, rows, kind, reason):
    before = table.state_bytes()
    table.write(NEW_FILE, "Op,ts,id,qty,seq\n" + rows)
    result = table.merge(spark)
    assert result.status == "failed"
    assert result.error["kind"] == kind and result.error["files"] == [NEW_FILE]
    assert reason in result.error["message"]
    quarantined = pq.read_table(table.quarantine() / "rows").to_pylist()
    assert [(r["_cdc_file"], r["_cdc_error"]) for r in quarantined] == [(NEW_FILE, reason)]
    assert result.quarantine_uri.endswith("/_quarantine/cdc/src/items/bad-run")
    assert_nothing_lost(table, before)


def test_several_kinds_of_bad_rows_are_counted_per_kind(spark, table):
    table.write(
        NEW_FILE,
        "Op,ts,id,qty,seq\nU,2024-01-01 01:00:00.000000,,1,1\nZ,2024-01-01 01:00:00.000000,1,1,2\nU,2024-01-01 01:00:00.000000,,1,3\n",
    )
    result = table.merge(spark)
    assert result.error["kind"] == "bad_rows"
    assert result.error["details"]["row_errors"] == {"null_primary_key": 2, "unknown_op": 1}


def test_quarantine_policy_applies_the_good_rows_and_keeps_the_bad_ones(spark, table, make_config):
    config = make_config(bad_rows="quarantine")
    table.write(
        NEW_FILE,
        "Op,ts,id,qty,seq\nU,2024-01-01 01:00:00.000000,,11,1\nU,2024-01-01 01:00:00.000000,2,21,2\n",
    )
    result = table.merge(spark, config=config)
    assert result.status == "ok" and result.quarantined_rows == 1 and result.updated == 1
    assert "quarantined" in result.warnings[0]
    assert table.rows() == [(1, 10), (2, 21)]
    assert table.pending() == []
    assert len(pq.read_table(table.quarantine() / "rows")) == 1


@pytest.mark.parametrize(
    ("name", "content", "kind", "reason"),
    [
        (NEW_FILE, b"\x00\x01garbage\xff\xfe", "unreadable_file", "cannot read CSV"),
        (
            NEW_FILE,
            "ts,id,qty,seq\n2024-01-01 01:00:00.000000,1,11,1\n",
            "missing_column",
            "CDC file has no 'Op' column",
        ),
        (
            NEW_FILE,
            "Op,ts,qty,seq\nU,2024-01-01 01:00:00.000000,11,1\n",
            "missing_column",
            "missing key/ordering/partition columns ['id']",
        ),
        (
            NEW_FILE,
            "Op,ts,id,seq\nU,2024-01-01 01:00:00.000000,1,1\n",
            "schema_drift",
            "columns ['qty'] of the last successful load are missing",
        ),
    ],
)
def test_bad_files_fail_the_table_and_are_copied_to_quarantine(spark, table, name, content, kind, reason):
    before = table.state_bytes()
    path = table.write(name, content)
    result = table.merge(spark)
    assert result.status == "failed" and result.error["kind"] == kind
    assert reason in result.error["message"] and name in result.error["message"]
    assert (table.quarantine() / "files" / name).read_bytes() == path.read_bytes()
    assert_nothing_lost(table, before)


def test_a_file_of_the_wrong_format_is_reported(spark, table):
    table.write("20240101-010000000.parquet", b"PAR1")
    result = table.merge(spark)
    assert result.error["kind"] == "unexpected_file_format"
    assert "configured for csv" in result.error["message"]


def test_fixing_the_file_lets_the_next_run_process_it(spark, table):
    table.write(NEW_FILE, "Op,ts,id,qty,seq\nU,2024-01-01 01:00:00.000000,,11,1\n")
    assert table.merge(spark).status == "failed"
    table.write(NEW_FILE, "Op,ts,id,qty,seq\nU,2024-01-01 01:00:00.000000,1,11,1\n")
    result = table.merge(spark, run_id="fixed")
    assert result.status == "ok" and result.files == [NEW_FILE]
    assert table.rows() == [(1, 11), (2, 20)]


def test_added_column_is_applied_and_reported(spark, table):
    table.write(NEW_FILE, "Op,ts,id,qty,seq,note\nU,2024-01-01 01:00:00.000000,2,21,1,hello\n")
    result = table.merge(spark)
    assert result.status == "ok"
    assert result.schema_changes == {"added": [{"name": "note", "type": "string"}]}
    rows = sorted((r["id"], r["note"]) for r in read_current(table.lake, "src", "items").to_pylist())
    assert rows == [(1, None), (2, "hello")]
    assert FileTracker(table.layout).load_state().schema[-1] == {"name": "note", "type": "string"}


def test_retyped_parquet_column_is_schema_drift(spark, dms, landing, lake, make_config):
    import pyarrow as pa

    config = make_config(file_format="parquet")
    schema = pa.schema([("ts", pa.string()), ("id", pa.int64()), ("qty", pa.int64()), ("seq", pa.string())])
    dms.parquet("LOAD00000001.parquet", [{"ts": "t0", "id": 1, "qty": 1, "seq": None}], schema)
    assert (
        merge_table(spark, config, MergeSettings(landing, lake, run_id="p1", sink="snapshot")).status == "ok"
    )
    drifted = pa.schema(
        [
            ("Op", pa.string()),
            ("ts", pa.string()),
            ("id", pa.int64()),
            ("qty", pa.string()),
            ("seq", pa.string()),
        ]
    )
    dms.parquet(
        "20240101-010000000.parquet", [{"Op": "U", "ts": "t1", "id": 1, "qty": "one", "seq": "1"}], drifted
    )
    dms.raw("20240101-020000000.parquet", b"not parquet at all")
    result = merge_table(spark, config, MergeSettings(landing, lake, run_id="p2", sink="snapshot"))
    assert result.error["kind"] == "unreadable_file"
    assert "20240101-020000000.parquet: cannot read Parquet footer" in result.error["message"]
    (Path(landing[7:]) / "src/public/items/20240101-020000000.parquet").unlink()
    result = merge_table(spark, config, MergeSettings(landing, lake, run_id="p3", sink="snapshot"))
    assert result.error["kind"] == "schema_drift"
    assert "qty bigint -> string" in result.error["message"]


def test_one_failing_table_does_not_stop_the_others(spark, table, make_config):
    good = make_config(source_table="others")
    folder = table.root / "landing" / "src" / "public" / "others"
    folder.mkdir(parents=True)
    (folder / "LOAD00000001.csv").write_text("ts,id,qty,seq\nt,7,70,\n")
    table.write(NEW_FILE, "Op,ts,id,qty,seq\nU,t,,1,1\n")
    results = merge_tables(
        spark, [table.config, good], MergeSettings(table.landing, table.lake, run_id="batch", sink="snapshot")
    )
    assert [(r.table_id, r.status) for r in results] == [("src.items", "failed"), ("src.others", "ok")]
    assert (
        json.loads((table.root / "lake/_state/cdc/src/items/history/batch.json").read_text())["status"]
        == "failed"
    )


def test_empty_files_are_marked_processed_without_a_new_version(spark, table):
    table.write(NEW_FILE, b"")
    result = table.merge(spark)
    assert result.status == "ok" and result.warnings == ["all pending files are empty"]
    assert (result.version, result.rows_before, result.rows_after) == (None, 2, 2)
    assert table.pending() == [] and table.rows() == [(1, 10), (2, 20)]


def test_gzip_compressed_csv_files_are_read(spark, table):
    import gzip

    table.write(NEW_FILE + ".gz", gzip.compress(b"Op,ts,id,qty,seq\nU,2024-01-01 01:00:00.000000,2,22,1\n"))
    result = table.merge(spark)
    assert result.status == "ok" and result.files == [NEW_FILE + ".gz"]
    assert table.rows() == [(1, 10), (2, 22)]
