"""Each figure, measured for every client that has it; values are medians in seconds
(requests for the herd, bytes for memory)."""

from __future__ import annotations

import functools
import json
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio
from _clients import (
    AZ_AIO,
    AZ_SYNC,
    HTTPX,
    MSAL,
    OURS,
    OURS_ASYNC,
    OURS_SYNC,
    RESOURCE,
    ACall,
    AsyncAdapter,
    Call,
    SyncAdapter,
)
from _timing import aper_call, per_call, process_seconds, reported_seconds, retained_bytes

Values = dict[str, float]


def _run(fn: Callable[[], Any]) -> Any:
    return anyio.run(fn, backend="asyncio")  # azure-identity's aio needs asyncio


def cache_hit(sync: list[SyncAdapter], aio: list[AsyncAdapter], calls: int, rounds: int) -> Values:
    """Seconds per call answered from a warm cache (peers get a tenth of the calls)."""
    clients = [a for a in aio if a.name != HTTPX]
    return _interleaved(
        sync, clients, "hitter", lambda name: calls if name in OURS else calls // 10, rounds
    )


def _interleaved(
    sync: list[SyncAdapter],
    aio: list[AsyncAdapter],
    kind: str,
    calls_for: Callable[[str], int],
    rounds: int,
) -> Values:
    """Per-call medians, taking turns: each round times every client once, so drift in
    a noisy machine's speed hits all clients alike.  Sync clients run in the loop's
    thread (blocking it, which is fine: nothing else runs there)."""
    samples: dict[str, list[float]] = {}

    async def main() -> None:
        sync_calls = [(a, a.make()) for a in sync]
        aio_calls = [(a, await a.make()) for a in aio]
        calls: list[tuple[str, Call | None, ACall | None]] = [
            (a.name, getattr(a, kind)(c), None) for a, c in sync_calls
        ] + [(a.name, None, getattr(a, kind)(c)) for a, c in aio_calls]
        for _name, fn, afn in calls:  # warm: connection open, token cached
            if fn is not None:
                fn()
            elif afn is not None:
                await afn()
        for _ in range(rounds):
            for name, fn, afn in calls:
                n = max(1, calls_for(name))
                if fn is not None:
                    sample = per_call(fn, n, 1)
                else:
                    assert afn is not None
                    sample = await aper_call(afn, n, 1)
                samples.setdefault(name, []).append(sample)
        for a, c in sync_calls:
            a.close(c)
        for b, d in aio_calls:
            await b.close(d)

    _run(main)
    return {name: statistics.median(values) for name, values in samples.items()}


def first_token(sync: list[SyncAdapter], aio: list[AsyncAdapter], rounds: int) -> Values:
    """A new client (fresh cache and connection) to its first token, in a warm process."""
    out: Values = {}
    for adapter in sync:
        _sync_first(adapter)  # untimed: pays one-time lazy imports
        out[adapter.name] = _median_first(functools.partial(_sync_first, adapter), rounds)

    async def main() -> None:
        for adapter in aio:
            await _async_first(adapter)
            samples = [await _async_first(adapter) for _ in range(rounds)]
            out[adapter.name] = sorted(samples)[len(samples) // 2]

    _run(main)
    return out


def _median_first(fn: Callable[[], float], rounds: int) -> float:
    samples = sorted(fn() for _ in range(rounds))
    return samples[len(samples) // 2]


def _sync_first(adapter: SyncAdapter) -> float:
    start = time.perf_counter()
    client = adapter.make()
    adapter.hitter(client)()
    elapsed = time.perf_counter() - start
    adapter.close(client)
    return elapsed


async def _async_first(adapter: AsyncAdapter) -> float:
    start = time.perf_counter()
    client = await adapter.make()
    call = adapter.forcer(client) if adapter.name == HTTPX else adapter.hitter(client)
    await call()
    elapsed = time.perf_counter() - start
    await adapter.close(client)
    return elapsed


def forced_refresh(
    sync: list[SyncAdapter], aio: list[AsyncAdapter], calls: int, rounds: int
) -> Values:
    """A request to the endpoint on a warm client (its connection already open)."""
    return _interleaved(sync, aio, "forcer", lambda name: calls, rounds)


def herd(
    sync: list[SyncAdapter],
    aio: list[AsyncAdapter],
    count: Callable[[], int],
    tasks: int,
    threads: int,
) -> Values:
    """Requests at the endpoint when a cold client is hit by many callers at once."""
    out: Values = {}
    for adapter in sync:
        client = adapter.make()
        before = count()
        _threads_at_once(adapter.hitter(client), threads)
        out[adapter.name] = float(count() - before)
        adapter.close(client)

    async def main() -> None:
        for adapter in aio:
            if adapter.name == HTTPX:
                continue
            client = await adapter.make()
            before = count()
            hit = adapter.hitter(client)
            async with anyio.create_task_group() as group:
                for _ in range(tasks):
                    group.start_soon(hit)
            out[adapter.name] = float(count() - before)
            await adapter.close(client)

    _run(main)
    return out


def _threads_at_once(call: Callable[[], object], threads: int) -> None:
    barrier = threading.Barrier(threads)

    def worker() -> None:
        barrier.wait()
        call()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()


IMPORTS = {
    OURS_ASYNC: "import msal_mi_async",
    OURS_SYNC: "from msal_mi_async import SyncManagedIdentityClient",
    MSAL: "import msal",
    AZ_SYNC: "from azure.identity import ManagedIdentityCredential",
    AZ_AIO: "from azure.identity.aio import ManagedIdentityCredential",
    HTTPX: "import httpx",
}


def import_time(rounds: int) -> Values:
    """Whole fresh process: ``python -c "<import>"``, interpreter start-up included."""
    return {name: process_seconds(code, rounds) for name, code in IMPORTS.items()}


_T0 = "import time; t0 = time.perf_counter()\n"
_R = f"R = {RESOURCE!r}\n"
COLD = {
    OURS_ASYNC: "import anyio\nfrom msal_mi_async import ManagedIdentityClient\n"
    "async def main():\n    async with ManagedIdentityClient() as c:\n"
    "        await c.acquire_token(R)\nanyio.run(main)\n",
    OURS_SYNC: "from msal_mi_async import SyncManagedIdentityClient\n"
    "with SyncManagedIdentityClient() as c:\n    c.acquire_token(R)\n",
    MSAL: "import msal, requests\nmsal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(),"
    " http_client=requests.Session()).acquire_token_for_client(resource=R)\n",
    AZ_SYNC: "from azure.identity import ManagedIdentityCredential\n"
    "ManagedIdentityCredential().get_token(R + '/.default')\n",
    AZ_AIO: "import asyncio\nfrom azure.identity.aio import ManagedIdentityCredential\n"
    "async def main():\n    async with ManagedIdentityCredential() as c:\n"
    "        await c.get_token(R + '/.default')\nasyncio.run(main())\n",
}


def cold_process_first_token(
    env: Mapping[str, str], rounds: int, *, hide_trio: bool = False
) -> Values:
    """A fresh process: from before the first import to the first token.

    ``hide_trio`` makes ``import trio`` fail, as where trio is not installed: httpcore
    imports it whenever it can (this venv has it for the test suite).
    """
    prefix = "import sys; sys.modules['trio'] = None\n" if hide_trio else ""
    return {
        name: reported_seconds(
            prefix + _T0 + _R + body + "print(time.perf_counter() - t0)", rounds, dict(env)
        )
        for name, body in COLD.items()
    }


def statistics_cost(env: Mapping[str, str], calls: int, rounds: int) -> Values:
    from msal_mi_async import ManagedIdentityClient, MemoryTokenCache

    client = ManagedIdentityClient(environ=env, token_cache=MemoryTokenCache())
    return {OURS_ASYNC: per_call(client.statistics, calls, rounds)}


def memory(tokens: int, msal_tokens: int, token_chars: int) -> Values:
    """Bytes held by a client caching ``tokens`` distinct tokens of ``token_chars`` chars.

    msal's cache lookup scans every entry, so filling it is quadratic (10 000 tokens take
    minutes): it is filled with ``msal_tokens`` and scaled linearly to ``tokens``.
    """
    _fill_ours(1, token_chars), _fill_msal(1, token_chars)  # one-time imports, untimed
    ours = retained_bytes(lambda: _fill_ours(tokens, token_chars))
    theirs = retained_bytes(lambda: _fill_msal(msal_tokens, token_chars))
    return {OURS_ASYNC: ours, MSAL: theirs * tokens / msal_tokens}


def _body(resource: str, token_chars: int) -> str:
    token = (resource * (token_chars // len(resource) + 1))[:token_chars]
    expires_on = str(int(time.time()) + 86_400)
    return json.dumps(
        {
            "access_token": token,
            "expires_on": expires_on,
            "resource": resource,
            "token_type": "Bearer",
            "expires_in": "86400",
        }
    )


def _resources(tokens: int) -> list[str]:
    return [f"https://r{i:06d}.example.com" for i in range(tokens)]


def _fill_ours(tokens: int, token_chars: int) -> object:
    import httpx

    from msal_mi_async import ManagedIdentityClient, MemoryTokenCache

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=_body(request.url.params["resource"], token_chars))

    env = {"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"}

    async def fill() -> object:
        http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        client = ManagedIdentityClient(
            environ=env, http_client=http, token_cache=MemoryTokenCache()
        )
        for resource in _resources(tokens):
            await client.acquire_token(resource)
        await http.aclose()
        return client

    return _run(fill)


class _FakeResponse:
    def __init__(self, text: str) -> None:
        self.status_code = 200
        self.text = text
        self.headers: dict[str, str] = {}


class _FakeHttp:
    def __init__(self, token_chars: int) -> None:
        self.token_chars = token_chars

    def get(self, url: str, params: dict[str, str] | None = None, **_: Any) -> _FakeResponse:
        return _FakeResponse(_body((params or {})["resource"], self.token_chars))

    def post(self, url: str, **_: Any) -> _FakeResponse:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _fill_msal(tokens: int, token_chars: int) -> object:
    import os

    import msal

    os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = "http://127.0.0.1:9"
    app = msal.ManagedIdentityClient(
        msal.SystemAssignedManagedIdentity(), http_client=_FakeHttp(token_chars)
    )
    for resource in _resources(tokens):
        app.acquire_token_for_client(resource=resource)
    return app
