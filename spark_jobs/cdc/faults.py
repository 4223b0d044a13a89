"""Fault points of the CDC commit protocol, for crash tests.

``CDC_FAULT_POINT=<name>`` makes the merge job kill its own process group with ``SIGKILL``
when it reaches that point (the crash of a Spark driver: no ``finally``, no lock release).
Unset (always in production) it does nothing. The points, in commit order:
``after_change_set``, ``after_table_version``, ``during_retention``, ``after_tracker``,
``before_lock_release``.
"""

from __future__ import annotations

import os
import signal

FAULT_POINT_ENV = "CDC_FAULT_POINT"
FAULT_POINTS = (
    "after_change_set",
    "after_table_version",
    "during_retention",
    "after_tracker",
    "before_lock_release",
)


def fault_point(name: str) -> None:
    """Die here (SIGKILL of the process group) when ``CDC_FAULT_POINT`` names this point."""
    if name not in FAULT_POINTS:
        raise ValueError(f"unknown fault point {name!r}; known: {', '.join(FAULT_POINTS)}")
    if os.environ.get(FAULT_POINT_ENV) == name:
        os.killpg(os.getpgid(0), signal.SIGKILL)
