"""The lake lock: contention, release, expiry takeover; local and S3."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from spark_jobs.common.lake import list_dir_names, read_bytes, write_atomic
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


@pytest.fixture
def serial_s3_bucket(monkeypatch) -> Iterator[str]:
    """A bucket on a moto server that handles one request at a time. S3 makes a conditional
    PUT (``If-None-Match: *``) atomic per key; moto checks and stores in two steps, which a
    threaded server can interleave, so concurrent creators are tested against a serial one."""
    import threading

    import boto3
    from moto.moto_server.threaded_moto_server import MotoRequestHandler
    from moto.server import DomainDispatcherApplication, create_backend_app
    from s3fs import S3FileSystem
    from werkzeug.serving import make_server

    from spark_jobs.common import lake as lake_io

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    lake_io._s3_client.cache_clear()
    S3FileSystem.clear_instance_cache()
    boto3.client("s3", endpoint_url=endpoint).create_bucket(
        Bucket="locks", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    yield "s3://locks"
    server.shutdown()
    thread.join()
    lake_io._s3_client.cache_clear()
    S3FileSystem.clear_instance_cache()


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


def test_a_half_written_lease_counts_as_held(lock_root):
    from spark_jobs.common.lake import join_uri, write_atomic

    write_atomic(join_uri(lock_root, f"{1:012d}.json"), b'{"owner": "a", "run_')
    lock = LakeLock(lock_root, owner="b", ttl_seconds=60, clock=Clock())
    assert lock.acquire("run-b") is None
    assert lock.holder()["unreadable"] is True


def test_a_retry_of_the_same_run_takes_over_its_own_dead_lease_at_once(lock_root):
    clock = Clock()
    dead = LakeLock(lock_root, owner="try-1", ttl_seconds=600, clock=clock).acquire("run-1")
    assert dead is not None
    assert LakeLock(lock_root, owner="other", ttl_seconds=600, clock=clock).acquire("run-2") is None
    retry = LakeLock(lock_root, owner="try-2", ttl_seconds=600, clock=clock, retries_take_over=True)
    lease = retry.acquire("run-1")
    assert lease is not None and lease.generation == dead.generation + 1
    assert lease.taken_over_from["owner"] == "try-1"


def test_workers_sharing_a_run_id_stay_exclusive_without_retry_takeover(lock_root):
    clock = Clock()
    assert LakeLock(lock_root, owner="shipper-1", ttl_seconds=600, clock=clock).acquire("logs") is not None
    assert LakeLock(lock_root, owner="shipper-2", ttl_seconds=600, clock=clock).acquire("logs") is None


def test_renewal_keeps_a_live_lease_and_a_taken_over_lease_is_lost(lock_root):
    from spark_jobs.common.lock import LockLostError

    clock = Clock()
    holder = LakeLock(lock_root, owner="a", ttl_seconds=60, clock=clock)
    lease = holder.acquire("run-1")
    clock.now += 45
    assert holder.renew(lease) and lease.expires_at == clock.now + 60
    clock.now += 45  # 90 s after acquiring: alive because renewed
    other = LakeLock(lock_root, owner="b", ttl_seconds=60, clock=clock)
    assert other.acquire("run-2") is None
    clock.now += 61  # the holder died: no renewal for longer than the lease
    assert other.acquire("run-2") is not None
    assert holder.renew(lease) is False and lease.lost
    with pytest.raises(LockLostError):
        holder.check(lease)
    holder.release(lease)  # a lost lease never marks the new holder's generation released
    assert other.holder()["owner"] == "b"


def test_the_heartbeat_renews_while_the_job_lives(tmp_path):
    import threading

    from spark_jobs.common.lock import LeaseHeartbeat

    lock = LakeLock(f"file://{tmp_path}/lock", owner="a", ttl_seconds=60)
    lease = lock.acquire("run-1")
    first_expiry = lease.expires_at
    renewed = threading.Event()
    original = lock.renew

    def renew(held):
        held.expires_at = first_expiry - 1  # make the renewal visible whatever the clock does
        ok = original(held)
        renewed.set()
        return ok

    lock.renew = renew
    with LeaseHeartbeat(lock, lease, interval=0.01):
        assert renewed.wait(timeout=30)
    assert lease.expires_at >= first_expiry and not lease.lost


def _contend(lock_root: str, log_path: str, name: str, rounds: int, env: dict[str, str]) -> int:
    import os
    import time
    from pathlib import Path

    os.environ.update(env)
    lock = LakeLock(lock_root, owner=name, ttl_seconds=3600)
    lock.holder()  # imports and clients ready before the start line
    Path(f"{log_path}.ready-{name}").touch()
    while not Path(f"{log_path}.go").exists():  # all processes start contending together
        time.sleep(0.001)
    held = 0
    for i in range(rounds):
        lease = lock.acquire(f"{name}-{i}")
        if lease is None:
            continue
        held += 1
        for event in ("acquire", "release"):
            fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.write(fd, f"{event} {lease.generation} {name}\n".encode())
            os.close(fd)
        lock.release(lease)
    return held


@pytest.mark.parametrize("store", ["local", "s3"])
def test_no_two_holders_under_contention(store, tmp_path, request):
    """Several processes acquire and release in a loop; the shared log of (acquire, release)
    events with their fencing tokens must show one holder at a time and rising tokens."""
    import multiprocessing
    import os
    import time

    processes = 4
    lock_root = (
        f"file://{tmp_path}/lock"
        if store == "local"
        else request.getfixturevalue("serial_s3_bucket") + "/lock"
    )
    log_path = str(tmp_path / "holders.log")
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pending = pool.starmap_async(
            _contend, [(lock_root, log_path, f"p{i}", 150, env) for i in range(processes)]
        )
        while len(list(tmp_path.glob("holders.log.ready-*"))) < processes and not pending.ready():
            time.sleep(0.01)
        (tmp_path / "holders.log.go").touch()
        held = pending.get()
    holder, last_token, acquisitions = None, 0, 0
    with open(log_path) as log:
        for line in log:
            event, token, name = line.split()
            if event == "acquire":
                assert holder is None, f"{name} acquired generation {token} while {holder} held the lock"
                assert int(token) > last_token, f"fencing token {token} after {last_token}"
                holder, last_token, acquisitions = (name, int(token)), int(token), acquisitions + 1
            else:
                assert holder == (name, int(token)), f"{name} released {token} while {holder} held it"
                holder = None
    assert acquisitions == sum(held) > 0
    assert LakeLock(lock_root).holder() is None


def test_a_creator_with_a_stale_listing_never_revives_a_removed_generation(lock_root, monkeypatch):
    """The interleaving that gave two holders: p lists (generation 1 released), q takes 2 and
    releases it, r takes 3 (removing 2), then p creates 2, which no longer exists."""
    clock = Clock()
    p, q, r = (LakeLock(lock_root, owner=n, clock=clock) for n in "pqr")
    p.release(p.acquire("run-p0"))
    stale = p._generations()
    q.release(q.acquire("run-q"))
    r_lease = r.acquire("run-r")
    assert r_lease is not None and r_lease.generation == 3
    calls = iter([stale])
    monkeypatch.setattr(p, "_generations", lambda: next(calls, LakeLock._generations(p)))
    assert p.acquire("run-p") is None
    assert r.holder()["owner"] == "r" and f"{2:012d}.json" not in list_dir_names(lock_root)


def _lease_of_a_dead_local_process(lock: LakeLock) -> None:
    """A lease written by a process on this host that was then killed (never released)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    lease = lock.acquire("killed-run")
    assert lease is not None
    uri = lock._uri(lease.generation)
    body = json.loads(read_bytes(uri))
    body.update(pid=int(child.stdout), owner=f"{body['host']}:{int(child.stdout)}")
    write_atomic(uri, json.dumps(body).encode())


def test_a_live_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(lock_root):
    clock = Clock()
    _lease_of_a_dead_local_process(LakeLock(lock_root, owner="killed", clock=clock))
    lease = LakeLock(lock_root, owner="next", clock=clock).acquire("next-run")
    assert lease is not None and lease.generation == 2  # the fenced takeover: a new generation
    assert lease.taken_over_from is not None and lease.taken_over_from["run_id"] == "killed-run"


def test_a_reused_pid_does_not_keep_a_dead_lease_alive(lock_root):
    clock = Clock()
    first = LakeLock(lock_root, owner="first", clock=clock)
    lease = first.acquire("first-run")
    assert lease is not None
    body = json.loads(read_bytes(first._uri(lease.generation)))
    assert body["pid_start"] is not None  # this process's start time, from /proc/<pid>/stat
    body["pid_start"] -= 1  # the pid is alive but belongs to a process started at another time
    write_atomic(first._uri(lease.generation), json.dumps(body).encode())
    assert LakeLock(lock_root, owner="next", clock=clock).acquire("next-run") is not None


def test_a_live_lease_from_another_host_keeps_the_time_rule(lock_root):
    clock = Clock()
    _lease_of_a_dead_local_process(LakeLock(lock_root, owner="killed", clock=clock))
    uri = LakeLock(lock_root)._uri(1)
    body = json.loads(read_bytes(uri))
    body["host"] = "another-host"
    write_atomic(uri, json.dumps(body).encode())
    contender = LakeLock(lock_root, owner="next", clock=clock)
    assert contender.acquire("next-run") is None
    clock.now += 10 * 60 + 1
    assert contender.acquire("next-run") is not None


def test_a_live_lease_of_a_live_process_stays_held(lock_root):
    clock = Clock()
    assert LakeLock(lock_root, owner="alive", clock=clock).acquire("run-a") is not None
    assert LakeLock(lock_root, owner="other", clock=clock).acquire("run-b") is None
