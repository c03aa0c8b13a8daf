"""Cache-hit cost per call: ours (async, sync) next to msal and azure-identity.

All clients talk to the same embedded emulator (IMDS flavour); each is warmed once,
then timed over many calls.  Medians of repeated rounds are reported.

    python benchmarks/cache_hit.py [--rounds 7] [--calls 20000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import anyio

from msal_mi_async import (
    ManagedIdentityClient,
    ManagedIdentitySourceKind,
    MemoryTokenCache,
    SyncManagedIdentityClient,
)
from msal_mi_async.emulator import Emulator

RESOURCE = "https://management.azure.com"


def _per_call(fn: Callable[[], object], calls: int, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def bench_ours_async(env: dict[str, str], calls: int, rounds: int) -> float:
    async def main() -> float:
        async with ManagedIdentityClient(environ=env, token_cache=MemoryTokenCache()) as client:
            await client.acquire_token(RESOURCE)
            samples = []
            for _ in range(rounds):
                start = time.perf_counter()
                for _ in range(calls):
                    await client.acquire_token(RESOURCE)
                samples.append((time.perf_counter() - start) / calls)
            return statistics.median(samples)

    return anyio.run(main)


def bench_ours_sync(env: dict[str, str], calls: int, rounds: int) -> float:
    with SyncManagedIdentityClient(environ=env, token_cache=MemoryTokenCache()) as client:
        client.acquire_token(RESOURCE)
        return _per_call(lambda: client.acquire_token(RESOURCE), calls, rounds)


def bench_msal(env: dict[str, str], calls: int, rounds: int) -> float:
    import msal
    import requests

    os.environ.update(env)
    try:
        app = msal.ManagedIdentityClient(
            msal.SystemAssignedManagedIdentity(), http_client=requests.Session()
        )
        app.acquire_token_for_client(resource=RESOURCE)
        return _per_call(lambda: app.acquire_token_for_client(resource=RESOURCE), calls, rounds)
    finally:
        for name in env:
            os.environ.pop(name, None)


def bench_azure_identity(env: dict[str, str], calls: int, rounds: int) -> float:
    from azure.identity import ManagedIdentityCredential

    os.environ.update(env)
    try:
        credential = ManagedIdentityCredential()
        scope = RESOURCE + "/.default"
        credential.get_token(scope)
        return _per_call(lambda: credential.get_token(scope), calls, rounds)
    finally:
        for name in env:
            os.environ.pop(name, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    with Emulator() as emu:
        env = emu.env(ManagedIdentitySourceKind.IMDS)
        rows = {
            "msal_mi_async (async)": bench_ours_async(env, args.calls, args.rounds),
            "msal_mi_async (sync facade)": bench_ours_sync(env, args.calls, args.rounds),
            "msal ManagedIdentityClient": bench_msal(env, args.calls // 10, args.rounds),
            "azure-identity ManagedIdentityCredential": bench_azure_identity(
                env, args.calls // 10, args.rounds
            ),
        }
    best_peer = min(
        rows["msal ManagedIdentityClient"], rows["azure-identity ManagedIdentityCredential"]
    )
    print(
        f"Cache-hit cost per call, median of {args.rounds} rounds; {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores"
    )
    print()
    print("| client | µs per hit | × best peer |")
    print("|---|---:|---:|")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds * 1e6:.2f} | {seconds / best_peer:.3f} |")


if __name__ == "__main__":
    main()
