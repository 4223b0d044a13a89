"""Deterministic identity of the job run a task instance starts.

A retry must find the run an earlier try started instead of starting a second one, so every run
carries the task instance's identity: a readable ``name`` (what ListJobRuns returns) and tags
(checked with GetJobRun). Tries are grouped like Airflow groups them for reschedules: a group
starts at try ``max_tries - retries + 1``; clearing a task starts a new group, so a cleared task
runs again while a retry reattaches to (or accepts) its group's earlier run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

NAME_MAX = 256
TAG_VALUE_MAX = 256
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9 /_.:=+@-]")

TAG_TI = "airflow:ti"
TAG_TRY_GROUP = "airflow:try-group"


def tag_value(text: object) -> str:
    """``text`` with characters EMR tags do not accept replaced, cut to the tag value limit."""
    return _TAG_UNSAFE.sub("_", str(text))[:TAG_VALUE_MAX]


@dataclass(frozen=True)
class TaskRunIdentity:
    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    try_number: int
    first_try_number: int

    @classmethod
    def from_context(cls, context: Any, retries: int) -> TaskRunIdentity:
        ti = context["ti"]
        try_number = int(getattr(ti, "try_number", 1) or 1)
        max_tries = int(getattr(ti, "max_tries", 0) or 0)
        first = max(1, min(try_number, max_tries - int(retries or 0) + 1))
        map_index = getattr(ti, "map_index", -1)
        return cls(
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            map_index=-1 if map_index is None else int(map_index),
            try_number=try_number,
            first_try_number=first,
        )

    @property
    def ti_key(self) -> str:
        """Hash of dag/task/run/map index: exact even when the readable name is cut."""
        raw = "\x1f".join((self.dag_id, self.task_id, self.run_id, str(self.map_index)))
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    @property
    def job_name(self) -> str:
        mapped = f"[{self.map_index}]" if self.map_index >= 0 else ""
        name = f"{self.dag_id}.{self.task_id}{mapped} @ {self.run_id}"
        if len(name) > NAME_MAX:
            name = f"{name[: NAME_MAX - 14]}~{self.ti_key[:12]}"
        return name

    def client_token(self, starts_before: int) -> str:
        """Idempotency token: same for the same group and number of earlier starts in it.

        A retry that repeats a start the service already accepted (the earlier try died right
        after StartJobRun) sends the same token; a start after a failed run gets a new one.
        """
        raw = f"{self.ti_key}/{self.first_try_number}/{starts_before}"
        return hashlib.sha256(raw.encode()).hexdigest()[:64]

    def tags(self) -> dict[str, str]:
        return {
            TAG_TI: self.ti_key,
            TAG_TRY_GROUP: str(self.first_try_number),
            "airflow:dag_id": tag_value(self.dag_id),
            "airflow:task_id": tag_value(self.task_id),
            "airflow:run_id": tag_value(self.run_id),
            "airflow:map_index": str(self.map_index),
        }
