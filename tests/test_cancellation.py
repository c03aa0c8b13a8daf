"""Cancellation: propagates unchanged, strands nobody, leaves no in-flight entry."""

from __future__ import annotations

import threading

import anyio
import pytest

from msal_mi_async import (
    AccessTokenResult,
    Handler,
    ManagedIdentityClient,
    ManagedIdentityError,
    MemoryTokenCache,
    Platform,
    SyncManagedIdentityClient,
    TokenRequest,
)

from .helpers import Clock, FakeTime, Recorder, ok

pytestmark = pytest.mark.anyio

ARM = "https://management.azure.com"
LINUX = Platform(system="linux", file_exists=lambda path: False)


def make_client(
    recorder: Recorder, cache: MemoryTokenCache, **kwargs: object
) -> ManagedIdentityClient:
    return ManagedIdentityClient(
        http_client=recorder.client(),
        token_cache=cache,
        platform=LINUX,
        environ={},
        clock=Clock(),
        sleep=FakeTime().sleep,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_cancelling_a_lone_leader_during_fetch_leaves_no_flight() -> None:
    cache = MemoryTokenCache()
    recorder = Recorder(ok(), gate=anyio.Event())
    client = make_client(recorder, cache)
    reached_after = False
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:

            async def lead() -> None:
                nonlocal reached_after
                await client.acquire_token(ARM)
                reached_after = True

            group.start_soon(lead)
            await anyio.wait_all_tasks_blocked()
            assert cache.in_flight == 1
            scope.cancel()
    assert scope.cancelled_caught
    assert not reached_after
    assert cache.in_flight == 0
    assert len(cache) == 0


async def test_cancellation_inside_the_deadline_wrapper_stays_a_cancellation() -> None:
    cache = MemoryTokenCache()
    client = make_client(Recorder(ok(), gate=anyio.Event()), cache, timeout=60)
    errors: list[BaseException] = []
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:

            async def lead() -> None:
                try:
                    await client.acquire_token(ARM, timeout=30)
                except ManagedIdentityError as exc:  # must not happen
                    errors.append(exc)

            group.start_soon(lead)
            await anyio.wait_all_tasks_blocked()
            scope.cancel()
    assert scope.cancelled_caught
    assert errors == []
    assert cache.in_flight == 0


async def test_a_cancelled_waiter_does_not_disturb_the_leader_or_other_waiters() -> None:
    cache = MemoryTokenCache()
    gate = anyio.Event()
    recorder = Recorder(ok("tok-1"), gate=gate)
    client = make_client(recorder, cache)
    results: list[str] = []

    async def caller() -> None:
        results.append((await client.acquire_token(ARM)).access_token)

    async with anyio.create_task_group() as group:
        group.start_soon(caller)
        await anyio.wait_all_tasks_blocked()
        with anyio.CancelScope() as waiter_scope:
            group.start_soon(caller)
            async with anyio.create_task_group() as inner:
                inner.start_soon(caller)
                await anyio.wait_all_tasks_blocked()
                waiter_scope.cancel()
        assert waiter_scope.cancelled_caught
        gate.set()
    assert results == ["tok-1", "tok-1"]
    assert len(recorder.requests) == 1
    assert cache.in_flight == 0


async def test_cancelled_leader_with_waiters_in_other_threads_and_loops() -> None:
    cache = MemoryTokenCache()
    leader = make_client(Recorder(ok("never"), gate=anyio.Event()), cache)
    sync_recorder = Recorder(ok("tok-sync"))
    arrived = threading.Semaphore(0)

    async def note_arrival(request: TokenRequest, call_next: Handler) -> AccessTokenResult:
        arrived.release()
        return await call_next(request)

    sync_client = SyncManagedIdentityClient(
        http_client=sync_recorder.client(),
        token_cache=cache,
        platform=LINUX,
        environ={},
        clock=Clock(),
        middleware=[note_arrival],
    )
    tokens: list[str] = []

    def waiter() -> None:
        tokens.append(sync_client.acquire_token(ARM).access_token)

    threads = [threading.Thread(target=waiter) for _ in range(4)]
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:
            group.start_soon(leader.acquire_token, ARM)
            await anyio.wait_all_tasks_blocked()
            assert cache.in_flight == 1
            for thread in threads:
                thread.start()
            for _ in threads:
                await anyio.to_thread.run_sync(arrived.acquire)
            scope.cancel()
    for thread in threads:
        await anyio.to_thread.run_sync(thread.join)
    await anyio.to_thread.run_sync(sync_client.close)
    assert scope.cancelled_caught
    assert tokens == ["tok-sync"] * 4
    assert len(sync_recorder.requests) == 1
    assert cache.in_flight == 0
