"""Admission of new files: checks, accepted/ and rejected/, alerts, nothing deleted."""

from __future__ import annotations

import gzip
import json
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_platform.alerting.channels import local_alerts_file
from data_platform.lake import storage
from data_platform.lake.admission import AdmissionRules, check_file, destination_uri
from data_platform.lake.operators import AdmitLakeFilesOperator


def _parquet_bytes(columns: dict) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue().to_pybytes()


@pytest.fixture
def received(local_lake) -> str:
    return storage.join(local_lake, "landing", "events", "received")


def _context() -> dict:
    return {"ti": SimpleNamespace(dag_id="d", task_id="admit", run_id="r")}


def test_destination_swaps_the_last_received_folder():
    uri = "s3://b/lake/received/x/received/2024/01/a.csv"
    assert destination_uri(uri, "accepted") == "s3://b/lake/received/x/accepted/2024/01/a.csv"
    with pytest.raises(ValueError, match="received/"):
        destination_uri("s3://b/lake/in/a.csv", "rejected")


@pytest.mark.parametrize(
    ("name", "content", "rules", "reason"),
    [
        ("events_20240101.parquet", None, AdmissionRules(name_pattern=r"events_\d{8}\.parquet"), None),
        ("events.parquet", None, AdmissionRules(name_pattern=r"events_\d{8}\.parquet"), "does not match"),
        ("events_20240101.parquet", b"", AdmissionRules(), "below the minimum"),
        ("events_20240101.parquet", b"x" * 50, AdmissionRules(max_size_bytes=10), "above the maximum"),
        ("events_20240101.parquet", b"not parquet at all", AdmissionRules(), "not a readable Parquet"),
        ("events_20240101.parquet", None, AdmissionRules(required_columns=("user_id",)), "lacks required"),
        ("events.csv", b"event_id,user_id\n1,u\n", AdmissionRules(required_columns=("user_id",)), None),
        (
            "events.csv.gz",
            gzip.compress(b"Op,event_id\nI,1\n"),
            AdmissionRules(required_columns=("op",)),
            None,
        ),
        ("events.csv", b"1,u\n2,v\n", AdmissionRules(), "looks like data"),
        ("events.csv", b"event_id,,x\n", AdmissionRules(), "empty column name"),
        ("events.csv", b"\xff\xfe\x00bad", AdmissionRules(), "not readable"),
        ("events.json", b"{}", AdmissionRules(), "unsupported file type"),
    ],
)
def test_check_file(received, name, content, rules, reason):
    uri = storage.join(received, name)
    storage.write_bytes(uri, _parquet_bytes({"event_id": [1]}) if content is None else content)

    problem = check_file(storage.file_info(uri), rules)

    assert problem is None if reason is None else reason in problem


def test_operator_moves_files_alerts_rejects_and_deletes_nothing(received, local_dir):
    good = storage.write_bytes(
        storage.join(received, "2024/events_1.parquet"), _parquet_bytes({"event_id": [1]})
    )
    bad_bytes = b"garbage"
    bad = storage.write_bytes(storage.join(received, "2024/events_2.parquet"), bad_bytes)
    operator = AdmitLakeFilesOperator(task_id="admit", source_uris=[good, bad], required_columns=["event_id"])

    result = operator.execute(_context())

    accepted_uri = good.replace("/received/", "/accepted/")
    rejected_uri = bad.replace("/received/", "/rejected/")
    assert result["accepted"] == [accepted_uri]
    assert result["rejected"][0]["uri"] == rejected_uri and "Parquet" in result["rejected"][0]["reason"]
    assert (result["files_in"], result["files_accepted"], result["files_rejected"]) == (2, 1, 1)
    assert storage.read_bytes(rejected_uri) == bad_bytes  # quarantined, not deleted
    reason = json.loads(storage.read_bytes(rejected_uri.rsplit("/", 1)[0] + "/_events_2.parquet.reason.json"))
    assert reason["file"] == bad and "Parquet" in reason["reason"]
    assert storage.list_files(received) == []
    alerts = [json.loads(line) for line in local_alerts_file().read_text().splitlines()]
    assert alerts and all("1 input file(s) rejected" in a["subject"] for a in alerts)
    assert alerts[0]["details"]["rejected"][0]["uri"] == rejected_uri

    # A retry of the same task (files already moved) reports the same outcome.
    assert operator.execute(_context())["rejected"] == result["rejected"]


def test_missing_file_that_was_never_admitted_is_an_error(received):
    with pytest.raises(FileNotFoundError, match="neither in accepted"):
        AdmitLakeFilesOperator(task_id="admit", source_uris=[storage.join(received, "gone.csv")]).execute(
            _context()
        )
