"""``msal-mi demo``: the library end to end against the embedded emulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import anyio

from ._cache import MemoryTokenCache
from ._client import ManagedIdentityClient
from ._kinds import ManagedIdentitySourceKind
from ._result import AccessTokenResult
from ._sync import SyncManagedIdentityClient

__all__ = ["run_demo"]

ARM = "https://management.azure.com"
STORAGE = "https://storage.azure.com/.default"
VAULT = "https://vault.azure.net"


def _masked(token: str) -> str:
    return f"{token[:8]}…({len(token)} chars)"


def _show(label: str, result: AccessTokenResult, seconds: float) -> None:
    print(
        f"  {label:<34} {result.token_source.value:<17} {seconds * 1e6:>10.1f} µs  "
        f"{_masked(result.access_token)}"
    )


async def _async_part(env: Mapping[str, str], tasks: int, requests: Callable[[], int]) -> None:
    async with ManagedIdentityClient(environ=env, token_cache=MemoryTokenCache()) as client:
        print(f"source detected: {(await client.get_managed_identity_source()).value}")
        for label in ("first call (goes to the endpoint)", "second call (cache hit)"):
            start = time.perf_counter()
            result = await client.acquire_token(ARM)
            _show(label, result, time.perf_counter() - start)
        before = requests()
        results: list[AccessTokenResult] = []

        async def caller() -> None:
            results.append(await client.acquire_token(STORAGE))

        start = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(tasks):
                group.start_soon(caller)
        elapsed = time.perf_counter() - start
        distinct = len({r.access_token for r in results})
        print(
            f"  {tasks} concurrent tasks, cold cache: {requests() - before} request(s) at the "
            f"endpoint, {distinct} distinct token(s), {elapsed * 1e3:.1f} ms in all"
        )


def _sync_part(env: Mapping[str, str], threads: int, requests: Callable[[], int]) -> None:
    with SyncManagedIdentityClient(environ=env, token_cache=MemoryTokenCache()) as client:
        before = requests()
        barrier = threading.Barrier(threads)
        tokens: list[str] = []

        def worker() -> None:
            barrier.wait()
            tokens.append(client.acquire_token(VAULT).access_token)

        workers = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        print(
            f"  {threads} threads via SyncManagedIdentityClient: {requests() - before} "
            f"request(s), {len(set(tokens))} distinct token(s)"
        )
        start = time.perf_counter()
        result = client.acquire_token(VAULT)
        _show("sync cache hit", result, time.perf_counter() - start)


def run_demo(*, tasks: int = 1000, threads: int = 64) -> int:
    """Start the emulator, acquire tokens several ways, print what happened."""
    from .emulator import Emulator

    with Emulator() as emu:
        env = emu.env(ManagedIdentitySourceKind.IMDS)
        print(f"msal-mi demo: emulator at {emu.url} (no Azure involved)")
        anyio.run(_async_part, env, tasks, lambda: emu.request_count)
        _sync_part(env, threads, lambda: emu.request_count)
        print(f"total requests at the emulator: {emu.request_count}")
    return 0
