"""Per-file shipping progress in the lake: ``<lake>/_state/datadog_logs/<appId>/<jobRunId>/<file>.json``.

A checkpoint says how far a log file has been accepted by the intake: ``offset`` (bytes of the
decompressed file, always at a record boundary), ``records`` and ``lines`` before it, a SHA-256
of those bytes (``prefix_sha256``: a file rewritten with other content is reported, not shipped
over), the object's ``size``/``fingerprint`` when it was read and ``complete`` (the whole final
file is shipped: later sweeps skip it without reading it). It is written atomically, only after
the intake accepted the batch holding the records before ``offset``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from spark_jobs.common.lake import join_uri, read_json, write_json_atomic
from spark_jobs.datadog_logs.layout import LogFile

STATE_FOLDER = "_state/datadog_logs"


@dataclass(frozen=True)
class Checkpoint:
    offset: int = 0
    records: int = 0
    lines: int = 0
    prefix_sha256: str = hashlib.sha256(b"").hexdigest()
    size: int = 0
    fingerprint: str = ""
    complete: bool = False

    def up_to_date(self, log_file: LogFile) -> bool:
        """Nothing left to ship: the whole file as it is now was shipped."""
        return self.complete and self.size == log_file.size and self.fingerprint == log_file.fingerprint


def checkpoint_uri(lake_root: str, log_file: LogFile) -> str:
    run = log_file.run
    return join_uri(
        lake_root, STATE_FOLDER, run.application_id, run.job_run_id, log_file.relative_path + ".json"
    )


class UnreadableCheckpoint(ValueError):
    """A checkpoint that is not the JSON :func:`write_checkpoint` writes."""


def read_checkpoint(lake_root: str, log_file: LogFile) -> Checkpoint:
    """The file's checkpoint (none yet: its start).

    :raises UnreadableCheckpoint: not a checkpoint (edited, cut short, from another version);
        its run ships nothing over it, and the message names the file and the way out.
    """
    uri = checkpoint_uri(lake_root, log_file)
    try:
        raw: dict[str, Any] | None = read_json(uri)
        return Checkpoint(**raw) if raw else Checkpoint()
    except (ValueError, TypeError) as err:
        raise UnreadableCheckpoint(
            f"The checkpoint {uri} of {log_file.uri} is unreadable ({err}). Restore it, or delete it "
            "to ship the file again from its start (the lines shipped before are then sent twice)."
        ) from err


def write_checkpoint(lake_root: str, log_file: LogFile, checkpoint: Checkpoint) -> None:
    write_json_atomic(checkpoint_uri(lake_root, log_file), asdict(checkpoint))
