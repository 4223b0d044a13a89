"""The lake lock: contention, release, expiry takeover; local and S3."""

from __future__ import annotations

import pytest

from spark_jobs.common.lake import list_dir_names
from spark_jobs.common.lock import LakeLock


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["local", "s3"])
def lock_root(request, tmp_path) -> str:
    if request.param == "local":
        return f"file://{tmp_path}/lock"
    return request.getfixturevalue("s3_bucket") + "/state/lock"


def test_second_run_cannot_take_a_held_lock(lock_root):
    clock = Clock()
    first = LakeLock(lock_root, owner="a", ttl_seconds=60, clock=clock)
    second = LakeLock(lock_root, owner="b", ttl_seconds=60, clock=clock)
    lease = first.acquire("run-1")
    assert lease is not None
    assert second.acquire("run-2") is None
    assert second.holder()["owner"] == "a"
    first.release(lease)
    assert second.holder() is None
    taken = second.acquire("run-2")
    assert taken is not None and taken.generation == lease.generation + 1 and taken.taken_over_from is None


def test_expired_lock_of_a_crashed_run_is_taken_over_once(lock_root):
    clock = Clock()
    crashed = LakeLock(lock_root, owner="crashed", ttl_seconds=60, clock=clock).acquire("run-1")
    assert crashed is not None
    clock.now += 61
    a = LakeLock(lock_root, owner="a", ttl_seconds=60, clock=clock)
    b = LakeLock(lock_root, owner="b", ttl_seconds=60, clock=clock)
    lease = a.acquire("run-2")
    assert lease is not None and lease.taken_over_from["owner"] == "crashed"
    assert b.acquire("run-3") is None
    # the winner removed the stale generation; only its own lease object is left
    assert list_dir_names(lock_root) == [f"{lease.generation:012d}.json"]


def test_racing_creators_of_one_generation_have_one_winner(lock_root, monkeypatch):
    clock = Clock()
    a = LakeLock(lock_root, owner="a", clock=clock)
    b = LakeLock(lock_root, owner="b", clock=clock)
    # b lists the (empty) lock folder before a creates generation 1, then tries to create it too
    seen = b._generations()
    assert a.acquire("run-a") is not None
    calls = iter([seen])
    monkeypatch.setattr(b, "_generations", lambda: next(calls, LakeLock._generations(b)))
    assert b.acquire("run-b") is None
