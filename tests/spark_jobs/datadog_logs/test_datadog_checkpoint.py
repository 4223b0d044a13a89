"""Checkpoints: an unreadable one stops its file with what to do, and nothing is shipped over it."""

from __future__ import annotations

import pytest
from datadog_log_files import job_run, write_log

from spark_jobs.datadog_logs.checkpoint import UnreadableCheckpoint, checkpoint_uri
from spark_jobs.datadog_logs.entries import RunContext
from spark_jobs.datadog_logs.layout import list_log_files
from spark_jobs.datadog_logs.shipper import ship_job_run

CONTEXT = RunContext("tiny", "tiny", "test", "data-eng", {})


@pytest.mark.parametrize("content", [b"", b'{"offset": 12, "rec', b'{"offset": 1, "unknown": 2}'])
def test_an_unreadable_checkpoint_fails_its_run_naming_it_and_the_way_out(
    tmp_path, intake, intake_server, content
):
    write_log(tmp_path / "logs", "run-1", "SPARK_DRIVER/stderr.gz", "printed\n")
    (log_file,) = list_log_files(job_run(tmp_path / "logs", "run-1"))
    lake = f"file://{tmp_path}/lake"
    path = tmp_path / checkpoint_uri(lake, log_file).removeprefix(f"file://{tmp_path}/")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(UnreadableCheckpoint, match=r"SPARK_DRIVER/stderr\.gz\.json .*delete it to ship the file"):
        ship_job_run(job_run(tmp_path / "logs", "run-1"), lake_root=lake, intake=intake, context=CONTEXT, final=True)
    assert intake_server.events == []  # nothing shipped over a checkpoint it cannot read
