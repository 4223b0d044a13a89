"""One job run's logs to the intake: every record once, with its tags, across reruns and crashes."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from datadog_log_files import API_KEY, APP, job_run, write_log, write_metadata

from data_platform.lineage.validation import problems
from data_platform.local.datadog_intake import Fault
from spark_jobs.datadog_logs import ship_run
from spark_jobs.datadog_logs.api_key import (
    DatadogConnection,
    MissingApiKey,
    parse_connection,
    resolve_connection,
)
from spark_jobs.datadog_logs.checkpoint import read_checkpoint
from spark_jobs.datadog_logs.entries import MAX_ENTRY_BYTES, RunContext
from spark_jobs.datadog_logs.intake import IntakeRejected
from spark_jobs.datadog_logs.layout import list_log_files
from spark_jobs.datadog_logs.shipper import ship_job_run

CONTEXT = RunContext(
    job_name="tiny", service="tiny", env="test", team="data-eng", job_tags={"owner": "jane.doe"}
)


def stamp(minutes_ago: float = 5) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%y/%m/%d %H:%M:%S")


STAMP = stamp()


def log4j_lines(n: int, start: int = 0) -> str:
    return "".join(f"{STAMP} INFO Task: line {i}\n" for i in range(start, start + n))


def ship(tmp_path, intake, run_id="run-1", **kwargs):
    return ship_job_run(
        job_run(tmp_path / "logs", run_id),
        lake_root=f"file://{tmp_path}/lake",
        intake=intake,
        context=CONTEXT,
        **kwargs,
    )


def messages(server) -> list[str]:
    return [e["message"] for e in server.events]


def test_driver_executor_and_attempt_files_ship_once_with_their_tags(tmp_path, intake, intake_server):
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", log4j_lines(2))
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stdout.gz", "printed\n")
    write_log(tmp_path / "logs", "run-1", "SPARK_EXECUTOR/3/stderr.gz", log4j_lines(1, 10))
    write_log(tmp_path / "logs", "run-1", "attempts/2/SPARK_EXECUTOR/1/stdout.gz", "second attempt\n")
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/not-a-log.txt", "ignored\n")
    result = ship(tmp_path, intake, final=True)
    assert (result.files, result.records, result.entries) == (4, 5, 5)
    by_message = {e["message"].split(": ")[-1]: e for e in intake_server.events}
    executor = by_message["line 10"]
    tags = dict(t.split(":", 1) for t in executor["ddtags"].split(","))
    assert tags == {
        "application_id": APP,
        "job_run_id": "run-1",
        "job_name": "tiny",
        "attempt": "1",
        "worker_type": "spark_executor",
        "worker_id": "3",
        "log_stream": "stderr",
        "team": "data-eng",
        "env": "test",
        "owner": "jane.doe",
    }
    assert (executor["ddsource"], executor["service"], executor["hostname"]) == (
        "spark",
        "tiny",
        "run-1-executor-3",
    )
    assert executor["status"] == "info" and executor["logger"] == {"name": "Task"}
    assert "attempt:2" in by_message["second attempt"]["ddtags"]
    assert by_message["printed"]["hostname"] == "run-1-driver"
    # a rerun (or a backfill) sends nothing again and does not even read the files
    again = ship(tmp_path, intake, final=True)
    assert (again.entries, again.up_to_date, again.files_read) == (0, 4, 0)
    assert len(intake_server.events) == 5


def test_a_crash_after_an_accepted_batch_duplicates_at_most_that_batch(
    tmp_path, intake, intake_server, monkeypatch
):
    monkeypatch.setattr("spark_jobs.datadog_logs.columnar.MAX_ENTRIES_PER_REQUEST", 10)
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", log4j_lines(35))

    def crash_after_second(accepted: int) -> None:
        if accepted == 2:
            raise RuntimeError("worker lost after the intake accepted batch 2")

    with pytest.raises(RuntimeError, match="worker lost"):
        ship(tmp_path, intake, final=True, on_batch_accepted=crash_after_second)
    assert len(intake_server.events) == 20
    checkpoint = read_checkpoint(
        f"file://{tmp_path}/lake", list_log_files(job_run(tmp_path / "logs", "run-1"))[0]
    )
    shipped = log4j_lines(10).encode()
    assert (checkpoint.offset, checkpoint.records, checkpoint.lines) == (len(shipped), 10, 10)  # batch 1 only
    rerun = ship(tmp_path, intake, final=True)
    assert rerun.entries == 25  # batch 2 (10 entries) again, then the 15 never sent
    sent = messages(intake_server)
    assert len(sent) == 45 and set(sent) == set(log4j_lines(35).splitlines())
    duplicated = {m for m in sent if sent.count(m) > 1}
    assert len(duplicated) == 10  # the bound: one batch


def test_a_file_growing_between_sweeps_ships_only_its_new_records(tmp_path, intake, intake_server):
    trace = f"{stamp()} ERROR Executor: failed\njava.lang.IllegalStateException: boom\n"
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", log4j_lines(3) + trace, age_seconds=0)
    first = ship(tmp_path, intake, settle_seconds=600)  # still being written: the trace may grow
    assert first.records == 3 and len(intake_server.events) == 3
    more = "\tat a.B.c(B.java:1)\n" + log4j_lines(2, 3)
    write_log(
        tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", log4j_lines(3) + trace + more, age_seconds=0
    )
    second = ship(tmp_path, intake, settle_seconds=600)
    assert second.records == 2  # the whole trace, then line 3; line 4 may still get continuation lines
    third = ship(tmp_path, intake, final=True)
    assert third.records == 1
    sent = messages(intake_server)
    assert len(sent) == len(set(sent)) == 6
    assert sent[3] == (trace + "\tat a.B.c(B.java:1)").rstrip("\n").replace("\n\n", "\n")


def test_a_truncated_gzip_waits_then_ships_once_complete(tmp_path, intake, intake_server):
    text = log4j_lines(50)
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", text, cut_bytes=12, age_seconds=0)
    early = ship(tmp_path, intake, settle_seconds=600)
    assert early.pending == ["SPARK_DRIVER/stderr.gz"] and intake_server.events == []
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", text, age_seconds=0)
    ship(tmp_path, intake, settle_seconds=600)
    ship(tmp_path, intake, final=True)
    assert messages(intake_server) == text.splitlines()


def test_a_final_file_left_truncated_ships_its_complete_lines_and_is_reported(
    tmp_path, intake, intake_server
):
    text = log4j_lines(50)
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", text, cut_bytes=12)
    result = ship(tmp_path, intake)  # an hour old: final
    assert result.truncated == ["SPARK_DRIVER/stderr.gz"]
    assert (
        0 < len(intake_server.events) < 50
        and messages(intake_server) == text.splitlines()[: len(intake_server.events)]
    )


def test_a_rewritten_file_is_reported_not_shipped_again(tmp_path, intake, intake_server):
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", log4j_lines(3))
    ship(tmp_path, intake, final=True)
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", "other content\n" * 10)
    result = ship(tmp_path, intake, final=True)
    assert result.errors and "rewritten" in result.errors[0] and len(intake_server.events) == 3


def test_old_timestamps_ship_with_ingestion_time_and_are_reported(tmp_path, intake, intake_server):
    old = (datetime.now(UTC) - timedelta(hours=30)).strftime("%y/%m/%d %H:%M:%S")
    write_log(
        tmp_path / "logs",
        "run-1",
        "SPARK_DRIVER/stderr.gz",
        f"{old} INFO Old: from a backfill\n" + log4j_lines(1),
    )
    result = ship(tmp_path, intake, final=True)
    assert result.late_entries == 1
    late, recent = intake_server.events
    assert "timestamp" not in late and late["original_timestamp"].startswith("20")
    assert "timestamp" in recent and not any(e.get("_too_old") for e in intake_server.events)


def test_entries_over_1_mb_are_split_into_marked_parts(tmp_path, intake, intake_server):
    huge = "x" * (MAX_ENTRY_BYTES * 2 + 10)  # 3 parts
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stdout.gz", huge + "\nafter\n")
    ship(tmp_path, intake, final=True)
    parts = [e for e in intake_server.events if "split" in e]
    assert [p["split"] for p in parts] == [{"part": i, "parts": 3} for i in (1, 2, 3)]
    assert "".join(p["message"].split("] ", 1)[1] for p in parts) == huge
    assert all(
        len(json.dumps({k: v for k, v in p.items() if k != "_request"})) <= MAX_ENTRY_BYTES for p in parts
    )
    assert not any(e.get("_truncated") for e in intake_server.events)
    assert intake_server.events[-1]["message"] == "after"


def test_a_refused_batch_leaves_the_checkpoints_where_they_were(tmp_path, intake, intake_server):
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", log4j_lines(3))
    intake_server.inject(Fault(status=400))
    with pytest.raises(IntakeRejected):
        ship(tmp_path, intake, final=True)
    assert ship(tmp_path, intake, final=True).entries == 3


def test_the_api_key_comes_from_the_secret_and_is_never_printed(tmp_path, intake_server, monkeypatch, capsys):
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", log4j_lines(2))
    write_metadata(tmp_path / "logs", "run-1", "dag.task", {"spark-job": "tiny", "team": "data-eng"})
    connection = {"conn_type": "http", "host": intake_server.url, "password": API_KEY}
    monkeypatch.setenv("DATADOG_CONN", json.dumps(connection))
    record = {"application_id": APP, "job_run_id": "run-1", "log_uri": f"file://{tmp_path}/logs"}
    code = ship_run.main(
        ["--spark-job", json.dumps(record), "--lake-root", str(tmp_path / "lake"), "--env", "test"]
    )
    output = capsys.readouterr()
    assert code == 0 and json.loads(output.out.splitlines()[-1])["entries"] == 2
    assert API_KEY not in output.out + output.err
    assert (
        "team:data-eng" in intake_server.events[0]["ddtags"] and intake_server.events[0]["service"] == "tiny"
    )
    assert API_KEY not in repr(resolve_connection()) and "***" in repr(resolve_connection())
    assert parse_connection(f"http://:{API_KEY}@intake.example:8080/http", "uri") == DatadogConnection(
        API_KEY, "http://intake.example:8080", None
    )
    assert (
        parse_connection(json.dumps({"password": "k", "extra": {"site": "datadoghq.eu"}}), "json").site
        == "datadoghq.eu"
    )
    monkeypatch.delenv("DATADOG_CONN")
    with pytest.raises(MissingApiKey, match="DATADOG_CONN"):
        resolve_connection()


def test_ship_run_fails_clearly_on_a_wrong_key(tmp_path, intake_server, monkeypatch, capsys):
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", log4j_lines(1))
    monkeypatch.setenv("DATADOG_CONN", json.dumps({"host": intake_server.url, "password": "not-the-key-42"}))
    args = ["--log-uri", f"file://{tmp_path}/logs", "--application-id", APP, "--job-run-id", "run-1"]
    assert ship_run.main([*args, "--lake-root", str(tmp_path / "lake")]) == 1
    output = capsys.readouterr()
    assert "403" in output.out and "not-the-key-42" not in output.out + output.err


def test_runs_shipped_elsewhere_or_already_shipped_are_skipped(tmp_path, intake_server, monkeypatch):
    from spark_jobs.common.lock import LakeLock
    from spark_jobs.datadog_logs.runs import ship_runs

    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", log4j_lines(2))
    write_metadata(tmp_path / "logs", "run-1", "dag.task", {"spark-job": "tiny"})
    monkeypatch.setenv("DATADOG_CONN", json.dumps({"host": intake_server.url, "password": API_KEY}))
    options = {"lake_root": f"file://{tmp_path}/lake", "service": None, "env": "test", "team": None, "tags": {},
               "secret_id": None, "intake_url": None, "settle_seconds": 1800, "concurrent_requests": 2,
               "final": None}  # fmt: skip
    runs = [(f"file://{tmp_path}/logs", APP, "run-1")]
    held = LakeLock(f"file://{tmp_path}/lake/_state/datadog_logs/{APP}/run-1/_lock").acquire("other shipper")
    assert held is not None
    (locked,) = ship_runs(runs, options)
    assert locked["locked"] and intake_server.events == []
    LakeLock(f"file://{tmp_path}/lake/_state/datadog_logs/{APP}/run-1/_lock").release(held)
    (shipped,) = ship_runs(runs, options)
    assert (
        shipped["entries"] == 2 and not shipped["errors"]
    )  # the run has no state: an hour-old file is final
    (again,) = ship_runs(runs, options)
    assert again == {"application_id": APP, "job_run_id": "run-1", "up_to_date": 1}
    assert len(intake_server.events) == 2


def test_ship_run_reports_the_log_folder_and_the_intake(tmp_path, intake_server, monkeypatch, capsys) -> None:
    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(events_file))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    monkeypatch.setenv("DATADOG_CONN", json.dumps({"host": intake_server.url, "password": API_KEY}))
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", log4j_lines(2))
    write_metadata(tmp_path / "logs", "run-1", "dag.task", {"spark-job": "tiny"})
    args = ["--log-uri", f"file://{tmp_path}/logs", "--application-id", APP, "--job-run-id", "run-1"]
    assert ship_run.main([*args, "--lake-root", str(tmp_path / "lake")]) == 0
    capsys.readouterr()

    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert all(problems(e) == [] for e in events)
    [source] = events[1]["inputs"]
    [intake] = events[1]["outputs"]
    assert (source["namespace"], source["name"]) == ("file", f"{tmp_path}/logs/applications/{APP}/jobs/run-1")
    host = intake_server.url.removesuffix("/")
    assert (intake["namespace"], intake["name"]) == (host, "/api/v2/logs")
    assert events[1]["job"]["name"] == "datadog_logs.ship_run"
    assert API_KEY not in events_file.read_text()


@pytest.mark.parametrize("other", ["", "caf\u00e9 \U0001f600\n"], ids=["one-byte-chars", "multi-byte-chars"])
def test_undecodable_bytes_ship_as_replacement_characters_and_resume_at_byte_offsets(
    tmp_path, intake, intake_server, other
):
    """Records with bytes that are not UTF-8 (in the message, the logger's name, a plain line, a
    stack trace) ship as decode("utf-8", "replace") gives them, each once, across a file that grows;
    byte offsets stay exact whether the file's other characters are one byte each or not."""
    first = (
        f"{STAMP} ERROR Executor: bad \xff byte\n\tat x.Y.z(Y.java:1) \xfe\n".encode("latin-1")
        + other.encode()
        + f"{STAMP} INFO Log\xffger: a logger with a bad byte\n".encode("latin-1")
        + b"plain \xff with a literal \\udcff text\n"
    )
    second = f"{STAMP} WARN Task: after \xfe the growth\n".encode("latin-1") + b"last\n"
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", first)
    ship(tmp_path, intake, final=False)  # the last record is held back: more lines may follow
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", first + second)
    ship(tmp_path, intake, final=True)
    expected = [
        f"{STAMP} ERROR Executor: bad \ufffd byte\n\tat x.Y.z(Y.java:1) \ufffd",
        *([other.rstrip("\n")] if other else []),
        f"{STAMP} INFO Log\ufffdger: a logger with a bad byte",
        "plain \ufffd with a literal \\udcff text",
        f"{STAMP} WARN Task: after \ufffd the growth",
        "last",
    ]
    assert messages(intake_server) == expected
    assert [e["logger"]["name"] for e in intake_server.events if "logger" in e] == [
        "Executor", "Log\ufffdger", "Task"
    ]  # fmt: skip
    (log_file,) = list_log_files(job_run(tmp_path / "logs", "run-1"))
    assert read_checkpoint(f"file://{tmp_path}/lake", log_file).offset == len(first + second)
    assert ship(tmp_path, intake, final=True).entries == 0


def test_lines_that_only_look_like_log4j_or_json_ship_as_written(tmp_path, intake, intake_server):
    """A log4j head whose digits are no calendar time, and a JSON line with a number no double
    holds (``1e999``, which json reads as infinity and cannot write back), used to fail the run."""
    lines = [
        "24/13/45 25:61:00 INFO Foo: not a time",
        "2026-02-30 10:00:00,000 WARN Bar: not a day",
        '{"level": "INFO", "message": "huge", "n": 1e999}',
        f"{STAMP} INFO Task: after them",
    ]
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", "\n".join(lines) + "\n")
    result = ship(tmp_path, intake, final=True)
    assert result.records == 4 and result.errors == []
    assert messages(intake_server) == lines
    no_time, no_day, huge, after = intake_server.events
    assert "timestamp" not in no_time and no_time["logger"]["name"] == "Foo" and no_time["status"] == "info"
    assert "timestamp" not in no_day and no_day["status"] == "warning"
    assert "n" not in huge  # a plain record: its line is its message
    assert "timestamp" in after


PIECES = [
    f"{STAMP} INFO Task: a \"quoted\" \\ line",
    f"{STAMP} ERROR Executor: failed",
    "java.lang.IllegalStateException: boom",
    "\tat a.B.c(B.java:1)",
    "Caused by: java.io.IOException: disk",
    "Traceback (most recent call last):",
    '  File "job.py", line 1, in <module>',
    "ValueError: bad",
    '{"ts": "2026-11-30T10:00:00+00:00", "level": "INFO", "logger": "job", "message": "m", "rows": 3}',
    "{not json",
    "",
    "print output é 💥",
    "bad \udcff byte",
    "24/13/45 25:61:00 INFO Foo: not a time",
]


def driver_events(server, run_id: str) -> list[tuple]:
    """What the intake holds of ``run_id``'s driver: message, line, status, timestamp, in order."""
    return [
        (e["message"], e["emr"]["line"], e["status"], e.get("timestamp"))
        for e in server.events
        if e["hostname"] == f"{run_id}-driver"
    ]


@pytest.mark.parametrize("seed", range(12))
def test_a_file_cut_anywhere_ships_the_same_events_over_two_sweeps_as_in_one(
    tmp_path, intake, intake_server, seed
):
    """Sweeps that read a file while it grows (cut at any byte) send each record once, whole and
    numbered as one sweep of the whole file does."""
    rng = random.Random(seed)
    for case in range(8):
        data = "\n".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 12))) + "\n"
        whole = data.encode("utf-8", "surrogateescape")
        cut = rng.randrange(len(whole) + 1)
        write_log(tmp_path / "logs", f"one-{case}", "SPARK_DRIVER/stderr.gz", whole)
        ship(tmp_path, intake, f"one-{case}", final=True)
        write_log(tmp_path / "logs", f"two-{case}", "SPARK_DRIVER/stderr.gz", whole[:cut], age_seconds=0)
        ship(tmp_path, intake, f"two-{case}", settle_seconds=600)
        write_log(tmp_path / "logs", f"two-{case}", "SPARK_DRIVER/stderr.gz", whole, age_seconds=0)
        ship(tmp_path, intake, f"two-{case}", final=True)
        one, two = driver_events(intake_server, f"one-{case}"), driver_events(intake_server, f"two-{case}")
        assert two == one, (data, cut)
        assert len(one) >= 1
