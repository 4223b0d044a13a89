"""A lock in the lake, so two runs never process one thing (a CDC table, a job run's logs) at once.

The lock is a sequence of lease objects ``lock/<generation>.json``, each created whole and
exclusively (local: a complete temporary file hard-linked into place, which fails if the name
exists; S3: conditional PUT ``If-None-Match: *``). The newest generation is the lock: it is
held while it has no ``<generation>.released`` marker and has not expired. To acquire, a run
creates generation ``newest + 1``; only one creator can win it.

Rules that make it mutually exclusive (the generation is the fencing token):

1. A winner deletes only generations older than its own, so once ``g + 1`` exists some
   generation above ``g`` exists forever.
2. A creator re-lists after creating ``g`` and gives ``g`` up when a newer generation exists
   (it re-created a generation deleted by rule 1 after it listed: it lost).
3. A lease that cannot be parsed (being written by a foreign writer) counts as held.

A holder renews its lease with :class:`LeaseHeartbeat` (every ``ttl / 4``) while its job
lives, so a lease outlives a dead job by at most ``ttl``. With ``retries_take_over`` a retry of
the same run id (Airflow retries keep the run id) takes over that run's lease at once: the
earlier try is dead. A lease also records its process (host, boot id, pid, process start
time): a contender on the same host whose holder process is gone (a killed local run) takes
the lease over at once instead of waiting out ``ttl``; leases from other hosts keep the time rule.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from spark_jobs.common.lake import (
    create_exclusive,
    delete,
    join_uri,
    list_dir_names,
    read_bytes,
    write_atomic,
)

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 10 * 60
"""Lease lifetime without renewal: how long a crashed job keeps its tables locked."""
_ATTEMPTS = 5
_UNREADABLE: dict[str, Any] = {"owner": None, "run_id": None, "expires_at": float("inf"), "unreadable": True}


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _boot_id() -> str | None:
    """This host's boot id (Linux ``/proc/sys/kernel/random/boot_id``); ``None`` elsewhere."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _process_start(pid: int) -> int | None:
    """A process's start time in clock ticks since boot (field 22 of ``/proc/<pid>/stat``,
    proc(5)); ``None`` when unknown. With the boot id it tells a reused pid from its first owner."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    # the command name (field 2) is parenthesised and may hold spaces: split after its ")"
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else None


def _this_process() -> dict[str, Any]:
    pid = os.getpid()
    return {"host": socket.gethostname(), "boot_id": _boot_id(), "pid": pid, "pid_start": _process_start(pid)}


def holder_process_dead(info: dict[str, Any]) -> bool:
    """``True`` when a lease's process is known to be gone: it ran on this host and its pid is
    no longer alive (``os.kill(pid, 0)`` raises ProcessLookupError), the host rebooted since
    (another boot id), or the pid now belongs to a process started at another time (pid reuse).
    Leases of other hosts, or without process fields, are never judged here (``False``)."""
    pid = info.get("pid")
    if info.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    boot_id = _boot_id()
    if info.get("boot_id") and boot_id and info["boot_id"] != boot_id:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        pass
    recorded, current = info.get("pid_start"), _process_start(pid)
    return recorded is not None and current is not None and recorded != current


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


@dataclass
class Lease:
    """A held lock generation (the fencing token) and its current expiry."""

    generation: int
    owner: str
    run_id: str
    expires_at: float
    taken_over_from: dict[str, Any] | None = None
    lost: bool = field(default=False, compare=False)
    """Set when a renewal found a newer generation: the lease was taken over."""


class LockLostError(RuntimeError):
    """The lease was taken over by another run (it expired): stop before committing."""


class LakeLock:
    """The lock rooted at ``lock_root`` (a folder of its own, e.g. ``TableLayout.lock_root``).

    ``retries_take_over``: a live lease of the same run id held by another owner is taken over
    at once. Set it only where a run id names one attempt at a time (an Airflow task's run id:
    a retry means the earlier try is dead); callers sharing one run id between concurrent
    workers (the Datadog shippers) leave it off.
    """

    def __init__(
        self,
        lock_root: str,
        owner: str | None = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
        retries_take_over: bool = False,
    ) -> None:
        self.lock_root = lock_root
        self.owner = owner or default_owner()
        self.ttl_seconds = ttl_seconds
        self.retries_take_over = retries_take_over
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

    def _read_lease(self, generation: int) -> dict[str, Any] | None:
        """The lease content; ``None`` when it is gone; a held placeholder when unparsable."""
        try:
            info = json.loads(read_bytes(self._uri(generation)))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.warning("lease %s is not readable yet; treating it as held", self._uri(generation))
            return dict(_UNREADABLE)
        return info if isinstance(info, dict) else dict(_UNREADABLE)

    def holder(self) -> dict[str, Any] | None:
        """The current holder's lease content, or ``None`` when the lock is free or expired."""
        leases, released = self._generations()
        if not leases or leases[-1] in released:
            return None
        info = self._read_lease(leases[-1])
        if info is None or float(info.get("expires_at", 0)) <= self._clock():
            return None
        return info

    def _body(self, generation: int, run_id: str, acquired_at: float, expires_at: float) -> bytes:
        return json.dumps(
            {
                "owner": self.owner,
                "run_id": run_id,
                "generation": generation,
                "acquired_at": _iso(acquired_at),
                "expires_at": expires_at,
                "expires_at_iso": _iso(expires_at),
                **_this_process(),
            }
        ).encode()

    def acquire(self, run_id: str) -> Lease | None:
        """Take the lock for ``run_id``; ``None`` when another run holds it."""
        for _ in range(_ATTEMPTS):
            leases, released = self._generations()
            taken_over, reason = None, ""
            if leases:
                newest = leases[-1]
                if newest not in released:
                    info = self._read_lease(newest)
                    if info is None:  # removed by a newer winner's cleanup: look again
                        continue
                    same_run = (
                        self.retries_take_over
                        and info.get("run_id") == run_id
                        and info.get("owner") != self.owner
                    )
                    if float(info.get("expires_at", 0)) <= self._clock():
                        reason = "expired"
                    elif same_run:
                        reason = "same run id: its earlier try is dead"
                    elif holder_process_dead(info):
                        reason = "its process on this host is gone"
                    else:
                        return None
                    taken_over = info
                generation = newest + 1
            else:
                generation = 1
            now = self._clock()
            lease = Lease(generation, self.owner, run_id, now + self.ttl_seconds, taken_over)
            if not create_exclusive(
                self._uri(generation), self._body(generation, run_id, now, lease.expires_at)
            ):
                continue
            if self._newer_exists(generation):  # re-created a generation a newer winner removed
                delete(self._uri(generation))
                return None
            if taken_over:
                log.warning(
                    "took over the lock of %s from owner %s, run %s (%s)",
                    self.lock_root,
                    taken_over.get("owner"),
                    taken_over.get("run_id"),
                    reason,
                )
            self._remove_older(generation, leases, released)
            return lease
        return None

    def _newer_exists(self, generation: int) -> bool:
        leases, _ = self._generations()
        return bool(leases) and leases[-1] > generation

    def _remove_older(self, generation: int, leases: list[int], released: set[int]) -> None:
        for old in leases:
            if old < generation:
                delete(self._uri(old))
        for old in released:
            if old < generation:
                delete(self._uri(old, ".released"))

    def renew(self, lease: Lease) -> bool:
        """Extend the lease by ``ttl_seconds``; ``False`` (and ``lease.lost``) when it was taken over."""
        if lease.lost or self._newer_exists(lease.generation):
            lease.lost = True
            return False
        now = self._clock()
        expires_at = now + self.ttl_seconds
        write_atomic(self._uri(lease.generation), self._body(lease.generation, lease.run_id, now, expires_at))
        lease.expires_at = expires_at
        if self._newer_exists(lease.generation):  # taken over while renewing
            lease.lost = True
            return False
        return True

    def check(self, lease: Lease) -> None:
        """Raise :class:`LockLostError` when the lease is no longer this run's (call before a commit)."""
        if lease.lost or self._newer_exists(lease.generation):
            lease.lost = True
            raise LockLostError(
                f"the lock of {self.lock_root} (generation {lease.generation}) was taken over; "
                "nothing was committed by this run"
            )

    def release(self, lease: Lease) -> None:
        """Mark the lease released (the generation object stays, so generations never repeat)."""
        if not self._newer_exists(lease.generation):
            create_exclusive(self._uri(lease.generation, ".released"), b"{}")


class LeaseHeartbeat:
    """Renews a lease every ``interval`` seconds in a daemon thread while the job lives.

    Use as a context manager around the work done under the lock. A dead job stops renewing,
    so its lease expires ``ttl_seconds`` after the last renewal.
    """

    def __init__(self, lock: LakeLock, lease: Lease, interval: float | None = None) -> None:
        self.lock = lock
        self.lease = lease
        self.interval = interval if interval is not None else max(1.0, lock.ttl_seconds / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"lease-heartbeat-{lease.generation}", daemon=True
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self.lock.renew(self.lease):
                    log.error("lease of %s was taken over; stopping renewal", self.lock.lock_root)
                    return
            except Exception:  # noqa: BLE001 - a failed renewal is retried; expiry is the backstop
                log.warning("lease renewal of %s failed", self.lock.lock_root, exc_info=True)

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
