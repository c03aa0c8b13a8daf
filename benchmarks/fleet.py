"""Fleet figure: N processes acquire the same token cold, all at once.

Per backend: requests that reached the endpoint (one shared emulator, IMDS flavour),
and p50/p99 of the time each process waited for its token (from a shared barrier).
Backends: msal_mi_async with its in-memory cache (one per process), msal_mi_async with
RedisTokenCache (one loopback redis-server), and azure-identity's
ManagedIdentityCredential (one per process).  Workers come from a forkserver with the
imports preloaded, so only the acquisition is timed.

    python benchmarks/fleet.py [--processes 64] [--rounds 3] [--redis-server PATH]
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from multiprocessing.synchronize import Barrier
from typing import Any

import anyio
import httpx
import redis

import msal_mi_async.redis
from msal_mi_async import ManagedIdentityClient, ManagedIdentitySourceKind, MemoryTokenCache
from msal_mi_async._transport import new_http_client
from msal_mi_async.emulator import Emulator


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:  # pip install -e '.[bench]'
        return None


AZURE_IDENTITY = _optional("azure.identity")

RESOURCE = "https://management.azure.com"
new_http_client(None)  # CA bundle loaded once, in the fork server
_PRELOADED = (httpx, redis, msal_mi_async.redis)


def _ours(env: dict[str, str], redis_url: str | None, namespace: str) -> float:
    from msal_mi_async.redis import RedisTokenCache

    token_cache: Any = (
        MemoryTokenCache() if redis_url is None else RedisTokenCache(redis_url, namespace=namespace)
    )
    client = ManagedIdentityClient(environ=env, token_cache=token_cache)

    async def acquire() -> float:
        began = time.perf_counter()
        await client.acquire_token(RESOURCE)
        seconds = time.perf_counter() - began
        await client.aclose()
        return seconds

    return anyio.run(acquire)


def _azure_identity(env: dict[str, str]) -> float:
    os.environ.update(env)
    credential = AZURE_IDENTITY.ManagedIdentityCredential()
    began = time.perf_counter()
    credential.get_token(RESOURCE + "/.default")
    return time.perf_counter() - began


def _worker(
    backend: str, env: dict[str, str], url: str | None, ns: str, start: Barrier, out: Any
) -> None:
    start.wait()
    if backend == "azure-identity":
        out.put(_azure_identity(env))
    else:
        out.put(_ours(env, url, ns))


def run_round(
    ctx: Any, processes: int, backend: str, emu: Emulator, redis_url: str | None
) -> tuple[int, list[float], float]:
    emu.reset()
    start, out = ctx.Barrier(processes), ctx.Queue()
    env, ns = emu.env(ManagedIdentitySourceKind.IMDS), f"bench-{uuid.uuid4().hex[:8]}"
    args = (backend, env, redis_url, ns, start, out)
    procs = [ctx.Process(target=_worker, args=args) for _ in range(processes)]
    for proc in procs:
        proc.start()
    began = time.perf_counter()
    waits = [out.get(timeout=120) for _ in procs]
    wall = time.perf_counter() - began
    for proc in procs:
        proc.join()
    return emu.request_count, waits, wall


def start_redis(binary: str, workdir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = 30000 + os.getpid() % 20000
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    proc = subprocess.Popen(
        [*args, "--appendonly", "no", "--dir", workdir], stdout=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):
        try:
            client.ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-server", default=shutil.which("redis-server"))
    args = parser.parse_args()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["__main__"])
    backends: dict[str, Callable[[], str | None]] = {}
    with tempfile.TemporaryDirectory() as workdir, Emulator() as emu:
        server, url = start_redis(args.redis_server, workdir)
        backends = {"msal_mi_async, MemoryTokenCache": lambda: None}
        backends["msal_mi_async, RedisTokenCache"] = lambda: url
        if AZURE_IDENTITY is not None:
            backends["azure-identity ManagedIdentityCredential"] = lambda: None
        try:
            rows = {name: _rounds(ctx, args, name, emu, get()) for name, get in backends.items()}
        finally:
            server.kill()
            server.wait()
    _print(args, rows)


def _rounds(ctx: Any, args: Any, name: str, emu: Emulator, url: str | None) -> list[Any]:
    backend = "azure-identity" if name.startswith("azure") else "ours"
    return [run_round(ctx, args.processes, backend, emu, url) for _ in range(args.rounds)]


def _print(args: Any, rows: dict[str, list[tuple[int, list[float], float]]]) -> None:
    print(
        f"{args.processes} processes acquire one token cold at once; {args.rounds} rounds; "
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores"
    )
    print()
    print("| backend | requests at the endpoint (per round) | p50 ms | p99 ms |")
    print("|---|---|---:|---:|")
    for name, rounds in rows.items():
        waits = [w for _, ws, _ in rounds for w in ws]
        cuts = statistics.quantiles(waits, n=100)
        counts = ", ".join(str(count) for count, _, _ in rounds)
        print(f"| {name} | {counts} | {cuts[49] * 1e3:.0f} | {cuts[98] * 1e3:.0f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
