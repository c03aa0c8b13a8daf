"""Many processes, one Redis: one request between them, no outage when Redis or a lock
holder dies.  Real ``redis-server`` on loopback; workers from a forkserver (tests/fleet.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from msal_mi_async import ManagedIdentitySourceKind
from msal_mi_async._redis_store import key_name
from msal_mi_async.emulator import Emulator, Fault
from tests.fleet import Fleet, WorkerSpec, digests
from tests.redis_server import RedisServer

RESOURCE = "https://management.azure.com"
VAULT = "https://vault.azure.net"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def own_redis(redis_binary: str) -> Iterator[RedisServer]:
    """A redis-server this test may stop."""
    server = RedisServer(redis_binary).start()
    yield server
    server.close()


def imds(emu: Emulator) -> dict[str, str]:
    return emu.env(ManagedIdentitySourceKind.IMDS)


def test_64_cold_processes_make_one_request(emu: Emulator, own_redis: RedisServer) -> None:
    fleet = Fleet(64, WorkerSpec(imds(emu), (RESOURCE,), own_redis.url))
    try:
        steps = fleet.results(64)
        assert fleet.join() == [0] * 64
    finally:
        fleet.kill()
    assert emu.request_count == 1
    assert len(digests(steps)) == 1
    assert sorted(s.source for s in steps) == ["cache"] * 63 + ["identity_provider"]


def test_redis_stopped_mid_run_workers_fetch_directly(
    emu: Emulator, own_redis: RedisServer
) -> None:
    fleet = Fleet(8, WorkerSpec(imds(emu), (RESOURCE, VAULT), own_redis.url))
    try:
        first = fleet.results(8)
        own_redis.stop()
        fleet.gate.set()
        second = fleet.results(8)
        assert fleet.join() == [0] * 8
    finally:
        fleet.kill()
    assert len(digests(first)) == 1
    assert [s.source for s in second] == ["identity_provider"] * 8
    assert emu.request_count == 1 + 8
    assert [r.query["resource"] for r in emu.requests] == [RESOURCE] + [VAULT] * 8


def test_killed_lock_holder_frees_the_others_after_lock_expiry(
    emu: Emulator, own_redis: RedisServer
) -> None:
    spec = WorkerSpec(imds(emu), (RESOURCE,), own_redis.url, lock_timeout=1.0)
    emu.inject(Fault(status=200, delay=60))  # the holder's request hangs
    holder = Fleet(1, spec)
    others: Fleet | None = None
    try:
        assert emu.wait_for_requests(1, timeout=30)
        lock = key_name("msal_mi_async", ("imds", "system_assigned", "", RESOURCE, "Bearer"))
        assert redis.Redis.from_url(own_redis.url).exists(lock + ":lock") == 1
        others = Fleet(4, spec, first=1)
        holder.processes[0].kill()  # SIGKILL: no release, the lock must expire
        steps = others.results(4)
        assert others.join() == [0] * 4
    finally:
        holder.kill()
        if others is not None:
            others.kill()
    assert holder.processes[0].exitcode == -9
    assert emu.request_count == 2
    assert len(digests(steps)) == 1
