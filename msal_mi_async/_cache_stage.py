"""The cache-lookup middleware: serve fresh tokens, single-flight the misses."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import anyio
import attrs

from ._background import BackgroundJobs
from ._cache import EXPIRY_BUFFER, CacheEntry, TokenCache
from ._errors import ManagedIdentityError
from ._kinds import TokenSource
from ._pipeline import Handler
from ._request import AttemptLog, CacheKey, TokenRequest
from ._result import AccessTokenResult
from ._stats import Counters

__all__ = ["CacheLookup"]

logger = logging.getLogger("msal_mi_async")

#: Seconds between background refresh attempts for a key after one failed (as
#: azure-identity does), so a struggling endpoint is not hammered by every caller.
REFRESH_RETRY_DELAY = 30.0
_MAX_FAILURES_KEPT = 1024


class CacheLookup:
    """Middleware: a fresh cached token answers at once; otherwise one fetch per key.

    After ``refresh_on`` the cached token is served at once while one background job
    per key refreshes it (in ``jobs``); a failed refresh is recorded in the counters and
    logged once, the next one starts no sooner than ``REFRESH_RETRY_DELAY`` later, and
    the cached token is still served until the expiry buffer.
    """

    def __init__(
        self,
        cache: TokenCache,
        counters: Counters,
        clock: Callable[[], float] = time.time,
        jobs: BackgroundJobs | None = None,
    ) -> None:
        self._cache = cache
        self._counters = counters
        self._clock = clock
        self._jobs = BackgroundJobs() if jobs is None else jobs
        self._failed_at: dict[CacheKey, float] = {}

    async def __call__(self, request: TokenRequest, call_next: Handler) -> AccessTokenResult:
        key = request.cache_key
        entry = self._cache.peek(key)
        if entry is not None and not request.bypasses_cache:
            now = self._clock()
            if now < entry.refresh_at:
                self._counters.cache_hits += 1
                return entry.result
            if now < entry.serve_until:
                return await self._refresh_or_serve(request, call_next, entry)
        self._counters.cache_misses += 1
        return await self._fetch(request, call_next, entry)

    async def _fetch(
        self, request: TokenRequest, call_next: Handler, entry: CacheEntry | None
    ) -> AccessTokenResult:
        if entry is not None and request.bypasses_cache:
            request = attrs.evolve(request, previous_token=entry.result.access_token)
        key = request.cache_key

        async def fetch_and_store() -> AccessTokenResult:
            # Re-check inside the flight: a flight that just ended (or a leader that was
            # cancelled, sending its waiters to race again) may have stored a token.
            fresh = None if request.bypasses_cache else self._fresh(key)
            if fresh is not None:
                return fresh
            self._counters.fetches += 1
            result = await call_next(request)
            if result.expires_on - self._clock() > EXPIRY_BUFFER:
                cached = attrs.evolve(result, token_source=TokenSource.CACHE)
                await self._cache.store(key, CacheEntry.for_result(cached))
            return result

        if request.claims is not None:  # a claims challenge never joins another fetch
            return await fetch_and_store()
        result, _led = await self._cache.fetch_once(
            key, fetch_and_store, bypass_cache=request.bypasses_cache
        )
        return result

    def _fresh(self, key: CacheKey) -> AccessTokenResult | None:
        entry = self._cache.peek(key)
        if entry is not None and self._clock() < entry.refresh_at:
            return entry.result
        return None

    async def _refresh_or_serve(
        self, request: TokenRequest, call_next: Handler, entry: CacheEntry
    ) -> AccessTokenResult:
        self._counters.cache_hits += 1
        key = request.cache_key
        if self._clock() >= self._failed_at.get(key, -REFRESH_RETRY_DELAY) + REFRESH_RETRY_DELAY:
            refresh = attrs.evolve(request, correlation_id=str(uuid.uuid4()), attempts=AttemptLog())
            self._jobs.start(key, lambda: self._refresh(refresh, call_next))
        return entry.result

    async def _refresh(self, request: TokenRequest, call_next: Handler) -> None:
        try:
            with anyio.fail_after(request.timeout):
                await self._fetch(request, call_next, None)
        except TimeoutError:
            self._record_failure(request, f"no token within the {request.timeout:g} s budget")
        except ManagedIdentityError as exc:
            self._record_failure(request, str(exc))
        else:
            self._failed_at.pop(request.cache_key, None)

    def _record_failure(self, request: TokenRequest, reason: str) -> None:
        if len(self._failed_at) >= _MAX_FAILURES_KEPT:
            self._failed_at.clear()
        self._failed_at[request.cache_key] = self._clock()
        self._counters.last_refresh_error = reason
        logger.warning("Background token refresh failed; serving the cached token: %s", reason)
