"""Demo hooks of ``datadog_log_shipping``: a local Datadog intake, and an event-by-event check.

``prepare`` starts the intake stand-in for the demo (in the demo's process, recording every
accepted entry to ``.local/datadog/intake-events.jsonl``, kept across demo runs like the
checkpoints are) and points the ``datadog_api`` connection at it. ``verify`` reads every log file
under the local logUri and checks, line by line, that the intake holds each line exactly once
(in order, stack traces whole) with the job run's tags.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_platform.local.datadog_intake import LocalDatadogIntake, read_recorded_events
from data_platform.paths import local_dir

if TYPE_CHECKING:
    from data_platform.settings import PlatformSettings

DEMO_API_KEY = "local-demo-api-key-6f1d"
REQUIRED_TAGS = ("application_id", "job_run_id", "job_name", "attempt", "worker_type", "worker_id", "env")
_running: list[LocalDatadogIntake] = []


def intake_record() -> Path:
    return local_dir() / "datadog" / "intake-events.jsonl"


def prepare(settings: PlatformSettings) -> None:
    """Start the intake stand-in and (re)point the Airflow connection behind the ``datadog`` secret at it."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    if not _running:
        _running.append(
            LocalDatadogIntake((DEMO_API_KEY,), record_path=intake_record(), keep_events=False).start()
        )
    conn_id = settings.secret_name("datadog")
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        session.add(
            Connection(conn_id=conn_id, conn_type="http", host=_running[0].url, password=DEMO_API_KEY)
        )
    print(f"  Datadog intake stand-in on {_running[0].url}, recording to {intake_record()}", flush=True)


def _tags(entry: dict[str, Any]) -> dict[str, str]:
    return dict(tag.split(":", 1) for tag in entry["ddtags"].split(",") if ":" in tag)


def _file_lines(path: Path) -> list[str]:
    lines = gzip.decompress(path.read_bytes()).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.decode("utf-8", "replace") for line in lines]


def _joined(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Entries split over 1 MB, back into one (their ``[part k/n] `` markers removed)."""
    parts = sorted(parts, key=lambda p: p["split"]["part"])
    assert [p["split"]["part"] for p in parts] == list(range(1, parts[0]["split"]["parts"] + 1)), (
        "missing parts"
    )
    message = "".join(p["message"].split("] ", 1)[1] for p in parts)
    return {**{k: v for k, v in parts[0].items() if k != "split"}, "message": message}


def compare_with_files(events: list[dict[str, Any]], log_uri: str) -> dict[str, int]:
    """Check that ``events`` hold every line of every log file under ``log_uri`` exactly once.

    :raises AssertionError: naming the file and line of the first gap, duplicate or difference.
    """
    from spark_jobs.datadog_logs.entries import json_line_of
    from spark_jobs.datadog_logs.layout import list_job_runs, list_log_files

    by_file: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        tags = _tags(event)
        by_file[(tags["application_id"], tags["job_run_id"], event["emr"]["log_file"])].append(event)
    counts = {"runs": 0, "files": 0, "lines": 0, "events": len(events)}
    for run in list_job_runs(log_uri):
        counts["runs"] += 1
        for log_file in list_log_files(run):
            where = f"{run.job_run_id}/{log_file.relative_path}"
            lines = _file_lines(Path(log_file.uri.removeprefix("file://")))
            file_events = by_file.pop((run.application_id, run.job_run_id, log_file.relative_path), [])
            split: dict[int, list[dict[str, Any]]] = defaultdict(list)
            whole: list[dict[str, Any]] = []
            for event in file_events:
                (split[event["emr"]["line"]] if "split" in event else whole).append(event)
            whole += [_joined(parts) for parts in split.values()]
            expected = 1
            for event in sorted(whole, key=lambda e: e["emr"]["line"]):
                line = event["emr"]["line"]
                assert line == expected, f"{where}: line {expected} expected next, the intake has line {line}"
                tags = _tags(event)
                missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
                assert not missing, f"{where}:{line}: tags {missing} missing in {event['ddtags']}"
                assert (tags["job_run_id"], tags["worker_id"]) == (run.job_run_id, log_file.worker_id), where
                if "ts" in event:  # a JSON line of the project's jobs
                    sent = {k: v for k, v in event.items() if not k.startswith("_")}  # the intake's notes
                    assert json_line_of(sent) == json.loads(lines[line - 1]), f"{where}:{line}: JSON differs"
                    expected += 1
                else:
                    own = event["message"].split("\n")
                    assert lines[line - 1 : line - 1 + len(own)] == own, f"{where}:{line}: text differs"
                    expected += len(own)
            assert expected == len(lines) + 1, f"{where}: {len(lines)} lines, the intake holds {expected - 1}"
            counts["files"] += 1
            counts["lines"] += len(lines)
    assert not by_file, f"events of files that do not exist: {sorted(by_file)[:3]}"
    return counts


def verify(settings: PlatformSettings) -> str:
    from data_platform.spark.local_logs import local_log_uri
    from spark_jobs.datadog_logs.layout import list_job_runs

    assert list_job_runs(local_log_uri()), f"no Spark job run logs under {local_log_uri()}"
    counts = compare_with_files(read_recorded_events(intake_record()), local_log_uri())
    return (
        f"the intake holds every line of {counts['files']} log files of {counts['runs']} Spark job runs "
        f"({counts['lines']} lines in {counts['events']} events) exactly once, with the runs' tags"
    )
