"""Fault points of the CDC commit protocol, for crash tests.

``CDC_FAULT_POINT=<name>`` makes the merge job kill its own process group with ``SIGKILL``
when it reaches that point (the crash of a Spark driver: no ``finally``, no lock release).
Unset (always in production) it does nothing. The points, in commit order:

- ``after_change_set``: the change set is written, ``commit.json`` is not.
- ``after_prepare``: ``commit.json`` (the prepared commit) is written, the table is untouched.
- ``during_table_commit``: the table's new data files are written but not committed (Hudi: the
  instant is requested and inflight, from a pre-commit validator; snapshot sink: the version
  folder is complete, the pointer not moved).
- ``during_retention``: the table commit is complete, retention is half done (Hudi: the clean
  is scheduled, ``.clean.requested``, not executed; snapshot sink: one old version deleted).
- ``after_table_version``: table commit and retention done, tombstones and state not written.
- ``after_tracker``: ``state.json`` and the history record are written, ``commit.json`` not removed.
- ``before_lock_release``: everything committed, the lease still held.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

FAULT_POINT_ENV = "CDC_FAULT_POINT"
FAULT_POINTS = (
    "after_change_set",
    "after_prepare",
    "during_table_commit",
    "during_retention",
    "after_table_version",
    "after_tracker",
    "before_lock_release",
)
FAULT_FUNCTION = "cdc_fault_point"
"""The SQL function :func:`register_fault_function` registers (returns 1 unless it kills)."""


def armed(name: str) -> bool:
    """Whether ``CDC_FAULT_POINT`` names ``name`` (a known point, else ``ValueError``)."""
    if name not in FAULT_POINTS:
        raise ValueError(f"unknown fault point {name!r}; known: {', '.join(FAULT_POINTS)}")
    return os.environ.get(FAULT_POINT_ENV) == name


def fault_point(name: str) -> None:
    """Die here (SIGKILL of the process group) when ``CDC_FAULT_POINT`` names this point."""
    if armed(name):
        os.killpg(os.getpgid(0), signal.SIGKILL)


def register_fault_function(spark: SparkSession) -> str:
    """Register :data:`FAULT_FUNCTION`, a SQL function that kills the DRIVER's process group when
    a task evaluates it: a hook inside a JVM-side step (e.g. a Hudi pre-commit validator's query).
    Python workers run in their own process group (pyspark's daemon), so the driver's group id
    is captured here, on the driver."""
    group = os.getpgid(0)

    def kill_driver() -> int:
        os.killpg(group, signal.SIGKILL)
        return 1

    spark.udf.register(FAULT_FUNCTION, kill_driver, "int")
    return FAULT_FUNCTION
