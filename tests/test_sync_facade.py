"""The blocking facade: hits in the caller's thread, misses on one long-lived portal."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import anyio
import pytest

from msal_mi_async import (
    AccessTokenResult,
    ErrorCode,
    Handler,
    ManagedIdentityClient,
    ManagedIdentityConfigurationError,
    MemoryTokenCache,
    Platform,
    SyncManagedIdentityClient,
    TokenRequest,
    TokenSource,
)

from .helpers import Clock, Recorder, ok

ARM = "https://management.azure.com"
LINUX = Platform(system="linux", file_exists=lambda path: False)


def make_client(
    recorder: Recorder, cache: MemoryTokenCache | None = None
) -> SyncManagedIdentityClient:
    return SyncManagedIdentityClient(
        http_client=recorder.client(),
        token_cache=cache or MemoryTokenCache(),
        platform=LINUX,
        environ={},
        clock=Clock(),
    )


def test_acquire_then_hit_in_the_calling_thread() -> None:
    recorder = Recorder(ok("tok-1"))
    with make_client(recorder) as client:
        first = client.acquire_token(ARM)
        portal = client._portal._thread
        second = client.acquire_token(ARM)
    assert first.token_source is TokenSource.IDENTITY_PROVIDER
    assert (second.access_token, second.token_source) == ("tok-1", TokenSource.CACHE)
    assert len(recorder.requests) == 1
    assert portal is not None
    assert not portal.is_alive()


def test_sixty_four_threads_on_a_cold_key_make_one_request() -> None:
    recorder = Recorder(ok("tok-1"))
    arrived = 0

    async def hold_until_all_arrive(request: TokenRequest, call_next: Handler) -> AccessTokenResult:
        # Runs on the portal loop: the one HTTP answer waits until all 64 callers are in.
        nonlocal arrived
        if recorder.gate is None:
            recorder.gate = anyio.Event()
        arrived += 1
        if arrived == 64:
            recorder.gate.set()
        return await call_next(request)

    client = SyncManagedIdentityClient(
        http_client=recorder.client(),
        token_cache=MemoryTokenCache(),
        platform=LINUX,
        environ={},
        middleware=[hold_until_all_arrive],
    )
    barrier = threading.Barrier(64)
    tokens: list[str] = []

    def worker() -> None:
        barrier.wait()
        tokens.append(client.acquire_token(ARM).access_token)

    threads = [threading.Thread(target=worker) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    assert tokens == ["tok-1"] * 64
    assert len(recorder.requests) == 1


def test_works_from_a_thread_whose_event_loop_is_running() -> None:
    recorder = Recorder(ok("tok-1"))
    client = make_client(recorder)

    async def inside_running_loop() -> str:
        return client.acquire_token(ARM).access_token

    assert asyncio.run(inside_running_loop()) == "tok-1"
    client.close()


def test_shares_cache_with_async_clients() -> None:
    cache = MemoryTokenCache()
    recorder = Recorder(ok("tok-async"))
    async_client = ManagedIdentityClient(
        http_client=recorder.client(), token_cache=cache, platform=LINUX, environ={}, clock=Clock()
    )
    assert anyio.run(async_client.acquire_token, ARM).access_token == "tok-async"
    with make_client(Recorder(ok("tok-sync")), cache) as sync_client:
        result = sync_client.acquire_token(ARM)
    assert (result.access_token, result.token_source) == ("tok-async", TokenSource.CACHE)


def test_close_is_idempotent_and_closed_client_refuses() -> None:
    client = make_client(Recorder(ok()))
    client.acquire_token(ARM)
    client.close()
    client.close()
    with pytest.raises(ManagedIdentityConfigurationError) as info:
        client.acquire_token(ARM)
    assert info.value.error_code == ErrorCode.CLIENT_CLOSED


def test_close_without_use_starts_nothing() -> None:
    client = make_client(Recorder(ok()))
    client.close()
    assert client._portal._thread is None


def test_no_warning_or_hang_at_interpreter_exit() -> None:
    script = (
        "import httpx\n"
        "from msal_mi_async import SyncManagedIdentityClient, MemoryTokenCache, Platform\n"
        "def answer(request):\n"
        "    return httpx.Response(200, json={'access_token': 't', 'expires_in': 3600})\n"
        "c = SyncManagedIdentityClient(environ={}, token_cache=MemoryTokenCache(),\n"
        "    platform=Platform(system='linux', file_exists=lambda p: False))\n"
        "c._client._transport._client = httpx.AsyncClient(transport=httpx.MockTransport(answer))\n"
        "c._client._transport._owns_client = True\n"
        "print(c.acquire_token('https://x').token_source.value)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-X", "dev", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "identity_provider"
    assert done.stderr == ""
