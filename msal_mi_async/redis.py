"""A token cache shared by many processes through Redis (extra ``[redis]``).

    from msal_mi_async.redis import RedisTokenCache
    client = ManagedIdentityClient(token_cache=RedisTokenCache("redis://cache:6379/0"))

Hits are answered from an in-process front cache (no network).  On a miss, the token is
looked up in Redis; if absent, one process takes a Redis lock (``SET NX PX``, a random
token, released by its owner only) and fetches, while the others poll for its value for
a bounded time and then fetch themselves.  Redis being down is never an outage: the
failure is logged once and tokens are fetched directly (one fetch per key per process).

Redis commands use redis-py's blocking client in worker threads: one connection pool
that works from asyncio, trio and the sync facade's thread alike.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from ._cache import CacheEntry, MemoryTokenCache, TokenCache
from ._redis_store import RedisStore, check_namespace, decode_entry, encode_entry, redact_url
from ._request import CacheKey
from ._result import AccessTokenResult
from ._single_flight import SingleFlight

__all__ = ["RedisTokenCache"]

logger = logging.getLogger("msal_mi_async")
T = TypeVar("T")
Fetch = Callable[[], Awaitable[AccessTokenResult]]
_MISSING_EXTRA = "RedisTokenCache needs the redis client: pip install 'msal_mi_async[redis]'"


class _Unavailable(Exception):
    """Redis could not answer; the caller fetches directly."""


class RedisTokenCache(TokenCache):
    """A token cache in Redis, shared by every process that uses the same URL and namespace.

    - ``lock_timeout``: seconds the fetch lock lives (a crashed holder frees it then).
    - ``wait_timeout``: seconds a process waits for another's fetch before fetching itself.
    - ``socket_timeout``: seconds one Redis command may take.
    - ``retry_interval``: after a Redis failure, seconds during which Redis is skipped.
    - ``client``: a ready ``redis.Redis`` to use instead of ``url`` (you keep ownership).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        namespace: str = "msal_mi_async",
        lock_timeout: float = 10.0,
        wait_timeout: float = 20.0,
        poll_interval: float = 0.05,
        socket_timeout: float = 1.0,
        retry_interval: float = 5.0,
        maxsize: int = 10_000,
        clock: Callable[[], float] = time.time,
        client: object | None = None,
    ) -> None:
        self._url = redact_url(url)
        self._namespace = check_namespace(namespace)
        self._errors = _redis_errors()
        self._store = RedisStore(
            client if client is not None else _connect(url, socket_timeout),  # type: ignore[arg-type]
            self._namespace,
            lock_ms=max(1, int(lock_timeout * 1000)),
        )
        self._front = MemoryTokenCache(maxsize=maxsize, clock=clock)
        self._flights: SingleFlight[AccessTokenResult] = SingleFlight()
        self._clock = clock
        self._wait_timeout = wait_timeout
        self._poll_interval = poll_interval
        self._retry_interval = retry_interval
        self._down_until: float | None = None

    def __repr__(self) -> str:
        return f"RedisTokenCache({self._url!r}, namespace={self._namespace!r})"

    @property
    def available(self) -> bool:
        """False while Redis is being skipped after a failure."""
        return self._down_until is None

    # TokenCache ---------------------------------------------------------------------------

    def peek(self, key: CacheKey) -> CacheEntry | None:
        return self._front.peek(key)

    async def store(self, key: CacheKey, entry: CacheEntry) -> None:
        await self._front.store(key, entry)
        ttl_ms = int((entry.serve_until - self._clock()) * 1000)
        if ttl_ms > 0:
            with contextlib.suppress(_Unavailable):
                await self._call(self._store.put, key, encode_entry(entry), ttl_ms)

    async def fetch_once(
        self, key: CacheKey, fetch: Fetch, *, bypass_cache: bool = False
    ) -> tuple[AccessTokenResult, bool]:
        result, led = await self._flights.run(
            (key, bypass_cache), lambda: self._shared_fetch(key, fetch, bypass_cache)
        )
        return result, led

    @property
    def in_flight(self) -> int:
        return self._flights.in_flight

    async def aclose(self) -> None:
        """Close the connection pool (a client passed as ``client=`` stays open)."""
        await anyio.to_thread.run_sync(self._store.close)

    def close(self) -> None:
        """Blocking :meth:`aclose`."""
        self._store.close()

    # Cross-process single flight ---------------------------------------------------------

    async def _shared_fetch(self, key: CacheKey, fetch: Fetch, bypass: bool) -> AccessTokenResult:
        try:
            baseline = await self._call(self._store.get, key)
            hit = None if bypass else self._usable(baseline, None)
            if hit is not None:
                return await self._adopt(key, hit)
            return await self._lock_or_wait(key, fetch, baseline if bypass else None)
        except _Unavailable:
            return await fetch()

    async def _lock_or_wait(
        self, key: CacheKey, fetch: Fetch, baseline: bytes | None
    ) -> AccessTokenResult:
        deadline = time.monotonic() + self._wait_timeout
        delay = self._poll_interval / 4
        while True:
            lock = await self._call(self._store.try_lock, key)
            if lock is not None:
                return await self._lead(key, fetch, lock, baseline)
            hit = self._usable(await self._call(self._store.get, key), baseline)
            if hit is not None:
                return await self._adopt(key, hit)
            if time.monotonic() >= deadline:
                logger.warning(
                    "Waited %.1f s for another process's token fetch; fetching", self._wait_timeout
                )
                return await fetch()
            await anyio.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
            delay = min(delay * 2, self._poll_interval)

    async def _lead(
        self, key: CacheKey, fetch: Fetch, lock: str, baseline: bytes | None
    ) -> AccessTokenResult:
        try:
            # Another process may have stored a token between our read and our lock.
            hit = self._usable(await self._call(self._store.get, key), baseline)
            if hit is not None:
                return await self._adopt(key, hit)
            return await fetch()
        finally:
            # Shielded so a cancelled leader still frees the lock (else it expires).
            with anyio.CancelScope(shield=True), contextlib.suppress(_Unavailable):
                await self._call(self._store.release, key, lock)

    def _usable(self, raw: bytes | None, baseline: bytes | None) -> CacheEntry | None:
        if raw is None or raw == baseline:
            return None
        entry = decode_entry(raw)
        if entry is None or self._clock() >= entry.refresh_at:
            return None
        return entry

    async def _adopt(self, key: CacheKey, entry: CacheEntry) -> AccessTokenResult:
        await self._front.store(key, entry)
        return entry.result

    # Redis calls, with the outage switch --------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        if self._down_until is not None and time.monotonic() < self._down_until:
            raise _Unavailable
        try:
            result = await anyio.to_thread.run_sync(fn, *args)
        except self._errors as exc:
            self._mark_down(exc)
            raise _Unavailable from None
        if self._down_until is not None:
            self._down_until = None
            logger.info("Redis token cache at %s is reachable again", self._url)
        return result

    def _mark_down(self, exc: BaseException) -> None:
        if self._down_until is None:
            logger.warning(
                "Redis token cache at %s is unavailable (%s); fetching tokens directly",
                self._url,
                type(exc).__name__,
            )
        self._down_until = time.monotonic() + self._retry_interval


def _redis_errors() -> tuple[type[BaseException], ...]:
    try:
        import redis
    except ImportError:
        raise ImportError(_MISSING_EXTRA) from None
    return (redis.RedisError, OSError)


def _connect(url: str, socket_timeout: float) -> object:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 0),
    )
