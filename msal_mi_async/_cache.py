"""In-memory token cache shared by clients, with single flight per key."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable

import attrs
import cachetools

from . import _fork
from ._request import CacheKey
from ._result import AccessTokenResult
from ._single_flight import SingleFlight

__all__ = ["EXPIRY_BUFFER", "CacheEntry", "MemoryTokenCache", "TokenCache"]

#: A token within this many seconds of expiry is never served (protocol.md §6).
EXPIRY_BUFFER = 300


@attrs.frozen(slots=True)
class CacheEntry:
    """A cached token (labelled ``TokenSource.CACHE``) and when it stops being served."""

    result: AccessTokenResult
    serve_until: float
    refresh_at: float

    @classmethod
    def for_result(cls, result: AccessTokenResult) -> CacheEntry:
        serve_until = float(result.expires_on - EXPIRY_BUFFER)
        refresh_at = (
            serve_until if result.refresh_on is None else min(result.refresh_on, serve_until)
        )
        return cls(result, serve_until, float(refresh_at))


class TokenCache:
    """What a cache backend provides.  ``peek`` is sync and in-process: it serves hits.

    ``fetch_once`` runs on a ``peek`` miss (or when the caller skips the cache); a
    backend that keeps tokens elsewhere (Redis) looks there first, unless
    ``bypass_cache`` is set: then it must not answer with the entry being replaced.
    """

    def peek(self, key: CacheKey) -> CacheEntry | None:
        raise NotImplementedError

    async def store(self, key: CacheKey, entry: CacheEntry) -> None:
        raise NotImplementedError

    async def fetch_once(
        self,
        key: CacheKey,
        fetch: Callable[[], Awaitable[AccessTokenResult]],
        *,
        bypass_cache: bool = False,
    ) -> tuple[AccessTokenResult, bool]:
        """Run ``fetch`` unless one is already running for ``key``; share its outcome."""
        raise NotImplementedError

    @property
    def in_flight(self) -> int:
        return 0

    async def aclose(self) -> None:
        """Release what the backend holds (connections); the in-memory cache holds none."""


class MemoryTokenCache(TokenCache):
    """An in-memory cache.  Pass one as ``token_cache=`` to isolate a client.

    Thread-safe; entries expire on their own at ``expires_on - 300 s``; at most
    ``maxsize`` tokens are kept (least recently used go first).
    """

    def __init__(self, *, maxsize: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._entries: cachetools.TLRUCache[CacheKey, CacheEntry] = cachetools.TLRUCache(
            maxsize, ttu=_serve_until, timer=clock
        )
        self._flights: SingleFlight[AccessTokenResult] = SingleFlight()
        _fork.track(self)

    def _after_fork_in_child(self) -> None:
        # Tokens stay valid in a child; only a lock another thread held must go.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryTokenCache(entries={len(self)})"

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def peek(self, key: CacheKey) -> CacheEntry | None:
        with self._lock:
            return self._entries.get(key)

    async def store(self, key: CacheKey, entry: CacheEntry) -> None:
        with self._lock:
            self._entries[key] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    async def fetch_once(
        self,
        key: CacheKey,
        fetch: Callable[[], Awaitable[AccessTokenResult]],
        *,
        bypass_cache: bool = False,
    ) -> tuple[AccessTokenResult, bool]:
        # Every flight here is a real fetch, so a bypassing caller may join one.
        return await self._flights.run(key, fetch)

    @property
    def in_flight(self) -> int:
        return self._flights.in_flight


def _serve_until(key: CacheKey, entry: CacheEntry, now: float) -> float:
    return entry.serve_until


#: The process-wide cache clients use unless given ``token_cache=``.
DEFAULT_CACHE = MemoryTokenCache()
