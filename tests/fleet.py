"""Run token acquisitions in many worker processes at once (forkserver: cheap workers).

Each worker builds one client, waits at a barrier so all start cold together, acquires
each resource of its script in turn (waiting on ``gate`` between steps), and reports
``(worker, step, token digest, seconds, token source)`` on a queue.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.synchronize
import time
from collections.abc import Sequence
from multiprocessing.context import BaseContext
from multiprocessing.queues import Queue
from typing import Any

import anyio
import anyio._backends._asyncio
import anyio.to_thread
import attrs
import certifi
import httpcore
import redis

from msal_mi_async import ManagedIdentityClient, MemoryTokenCache, TokenCache
from msal_mi_async._transport import new_http_client
from msal_mi_async.redis import RedisTokenCache

# Load the CA bundle once in the fork server (httpx builds a context even for http://).
new_http_client(None)
_PRELOADED = (anyio._backends._asyncio, certifi, httpcore, redis)

#: Imported once by the fork server, so each worker starts without importing anything.
PRELOAD = ["__main__", "tests.fleet"]


@attrs.frozen
class Step:
    worker: int
    step: int
    digest: str
    seconds: float
    source: str


@attrs.frozen
class WorkerSpec:
    env: dict[str, str]
    resources: tuple[str, ...]
    redis_url: str | None = None
    lock_timeout: float = 10.0


def context() -> BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _cache(spec: WorkerSpec) -> TokenCache:
    if spec.redis_url is None:
        return MemoryTokenCache()
    return RedisTokenCache(spec.redis_url, lock_timeout=spec.lock_timeout, poll_interval=0.02)


def work(
    index: int,
    spec: WorkerSpec,
    start: multiprocessing.synchronize.Barrier,
    gate: multiprocessing.synchronize.Event,
    out: Queue[Step],
) -> None:
    client = ManagedIdentityClient(environ=spec.env, token_cache=_cache(spec))

    async def main() -> None:
        for step, resource in enumerate(spec.resources):
            await anyio.to_thread.run_sync(start.wait if step == 0 else gate.wait)
            began = time.perf_counter()
            result = await client.acquire_token(resource)
            seconds = time.perf_counter() - began
            digest = hashlib.sha256(result.access_token.encode()).hexdigest()[:16]
            out.put(Step(index, step, digest, seconds, result.token_source.value))
        await client.aclose()

    anyio.run(main)


class Fleet:
    """``count`` worker processes running ``spec``; :meth:`results` collects their steps."""

    def __init__(self, count: int, spec: WorkerSpec, *, first: int = 0) -> None:
        ctx: Any = context()
        self.start = ctx.Barrier(count)
        self.gate = ctx.Event()
        self.queue: Queue[Step] = ctx.Queue()
        self.processes = [
            ctx.Process(target=work, args=(first + i, spec, self.start, self.gate, self.queue))
            for i in range(count)
        ]
        for proc in self.processes:
            proc.start()

    def results(self, count: int, timeout: float = 60.0) -> list[Step]:
        return [self.queue.get(timeout=timeout) for _ in range(count)]

    def join(self, timeout: float = 30.0) -> list[int | None]:
        for proc in self.processes:
            proc.join(timeout)
        return [proc.exitcode for proc in self.processes]

    def kill(self) -> None:
        for proc in self.processes:
            if proc.is_alive():
                proc.kill()
            proc.join()


def digests(steps: Sequence[Step]) -> set[str]:
    return {s.digest for s in steps}
