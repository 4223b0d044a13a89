"""A lock in the lake, so two runs never process one thing (a CDC table, a job run's logs) at once.

The lock is a sequence of lease objects ``lock/<generation>.json`` created with an exclusive
create (local ``O_EXCL``, S3 conditional PUT ``IfNoneMatch='*'``). The newest generation is
the lock: it is held while it has no ``<generation>.released`` marker and has not expired.
To acquire, a run creates generation ``newest + 1``; only one creator can win it, so taking
over a crashed run's expired lease is as race-free as taking a free lock (deleting and
re-creating one lock object would not be). The winner removes older generations.

A lease expires after ``ttl_seconds``; choose it above the longest hold (e.g. a table load).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from spark_jobs.common.lake import create_exclusive, delete, join_uri, list_dir_names, read_json

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 2 * 60 * 60
_ATTEMPTS = 5


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Lease:
    """A held lock generation."""

    generation: int
    owner: str
    run_id: str
    expires_at: float
    taken_over_from: dict[str, Any] | None = None


class LakeLock:
    """The lock rooted at ``lock_root`` (a folder of its own, e.g. ``TableLayout.lock_root``)."""

    def __init__(
        self,
        lock_root: str,
        owner: str | None = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock_root = lock_root
        self.owner = owner or default_owner()
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def _uri(self, generation: int, suffix: str = ".json") -> str:
        return join_uri(self.lock_root, f"{generation:012d}{suffix}")

    def _generations(self) -> tuple[list[int], set[int]]:
        leases, released = [], set()
        for name in list_dir_names(self.lock_root):
            stem, _, ext = name.partition(".")
            if not stem.isdigit():
                continue
            if ext == "json":
                leases.append(int(stem))
            elif ext == "released":
                released.add(int(stem))
        return sorted(leases), released

    def holder(self) -> dict[str, Any] | None:
        """The current holder's lease content, or ``None`` when the lock is free or expired."""
        leases, released = self._generations()
        if not leases or leases[-1] in released:
            return None
        info = read_json(self._uri(leases[-1]))
        if info is None or float(info.get("expires_at", 0)) <= self._clock():
            return None
        return info

    def acquire(self, run_id: str) -> Lease | None:
        """Take the lock for ``run_id``; ``None`` when another run holds it."""
        for _ in range(_ATTEMPTS):
            leases, released = self._generations()
            taken_over = None
            if leases:
                newest = leases[-1]
                if newest not in released:
                    info = read_json(self._uri(newest))
                    if info is None:  # removed by a concurrent winner's cleanup: look again
                        continue
                    if float(info.get("expires_at", 0)) > self._clock():
                        return None
                    taken_over = info
                generation = newest + 1
            else:
                generation = 1
            now = self._clock()
            lease = Lease(generation, self.owner, run_id, now + self.ttl_seconds, taken_over)
            body = {
                "owner": self.owner,
                "run_id": run_id,
                "generation": generation,
                "acquired_at": _iso(now),
                "expires_at": lease.expires_at,
                "expires_at_iso": _iso(lease.expires_at),
            }
            if create_exclusive(self._uri(generation), json.dumps(body).encode()):
                if taken_over:
                    log.warning(
                        "took over expired lock of %s (owner %s, run %s)",
                        self.lock_root,
                        taken_over.get("owner"),
                        taken_over.get("run_id"),
                    )
                self._remove_older(generation, leases, released)
                return lease
        return None

    def _remove_older(self, generation: int, leases: list[int], released: set[int]) -> None:
        for old in leases:
            if old < generation:
                delete(self._uri(old))
        for old in released:
            if old < generation:
                delete(self._uri(old, ".released"))

    def release(self, lease: Lease) -> None:
        """Mark the lease released (the generation object stays, so generations never repeat)."""
        create_exclusive(self._uri(lease.generation, ".released"), b"{}")
