"""The async client: the public face of the acquisition pipeline."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

import anyio

from ._arc_keyfile import ArcKeyFileReader
from ._background import BackgroundJobs
from ._cache import DEFAULT_CACHE, CacheEntry, TokenCache
from ._cache_stage import CacheLookup
from ._errors import ErrorCode, ManagedIdentityConfigurationError, ManagedIdentityNetworkError
from ._fetch import HttpFetch, KeyFileReader, Sleep, normalizer
from ._identity import ManagedIdentity, SystemAssignedManagedIdentity
from ._kinds import ManagedIdentitySourceKind
from ._pipeline import Middleware, compose, source_probe
from ._platform import Platform
from ._request import TokenRequest
from ._result import AccessTokenResult
from ._retry import RetryPolicy
from ._scopes import resource_from_scopes
from ._sources import DEFAULT_SOURCES, ManagedIdentitySource, detect_source
from ._stats import ClientStatistics, Counters
from ._transport import HttpTransport

if TYPE_CHECKING:
    import httpx  # imported on first request by _transport, not with the package

__all__ = ["ATTEMPT_TIMEOUT", "DEFAULT_TIMEOUT", "ManagedIdentityClient"]

#: Total seconds one acquisition may take, retries included, unless told otherwise.
DEFAULT_TIMEOUT = 90.0
#: Seconds one HTTP attempt may take, unless told otherwise.
ATTEMPT_TIMEOUT = 10.0
_HOT_LIMIT = 256


class ManagedIdentityClient:
    """Acquire managed-identity tokens asynchronously (asyncio or trio).

    Cache hits are answered without I/O; concurrent misses for the same source,
    identity and resource share a single request.  Failed HTTP attempts are retried
    per ``retry_policy`` (None: each source's default, see :class:`RetryPolicy`); each
    attempt may take ``attempt_timeout`` seconds and one acquisition ``timeout`` seconds
    in all, retries included.  ``sleep`` and ``monotonic`` (the waits between retries
    and the clock that measures them) are injectable for tests.  Use ``async with`` or
    :meth:`aclose` to release the HTTP client when the library created it.
    """

    def __init__(
        self,
        identity: ManagedIdentity | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        token_cache: TokenCache | None = None,
        middleware: Sequence[Middleware] = (),
        sources: Sequence[type[ManagedIdentitySource]] | None = None,
        client_capabilities: Sequence[str] = (),
        retry_policy: RetryPolicy | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        attempt_timeout: float | None = ATTEMPT_TIMEOUT,
        environ: Mapping[str, str] | None = None,
        platform: Platform | None = None,
        clock: Callable[[], float] = time.time,
        read_key_file: KeyFileReader | None = None,
        sleep: Sleep = anyio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.identity: ManagedIdentity = identity or SystemAssignedManagedIdentity()
        self._cache = DEFAULT_CACHE if token_cache is None else token_cache
        self._sources = tuple(DEFAULT_SOURCES if sources is None else sources)
        self._capabilities = tuple(client_capabilities)
        self._retry_policy = retry_policy
        self._timeout = timeout
        self._environ = environ
        self._platform = platform or Platform()
        self._clock = clock
        self._counters = Counters()
        self._jobs = BackgroundJobs()
        self._transport = HttpTransport(http_client, timeout=attempt_timeout)
        fetch = HttpFetch(
            self._transport,
            attempt_timeout=attempt_timeout,
            retry_policy=retry_policy,
            sleep=sleep,
            monotonic=monotonic,
            clock=clock,
            read_key_file=read_key_file or ArcKeyFileReader(self._platform),
        )
        self._fetch = fetch
        stages: list[Middleware] = [
            *middleware,
            CacheLookup(self._cache, self._counters, clock, self._jobs),
            source_probe,
        ]
        self._handler = compose(stages, normalizer(fetch, clock))
        # Fast path for hits: raw resource argument -> cache entry.  Only without user
        # middleware, which must see every call.
        self._hot: dict[str, CacheEntry] | None = None if middleware else {}
        self._closed = False

    def __repr__(self) -> str:
        return f"ManagedIdentityClient({self.identity!r})"

    async def __aenter__(self) -> ManagedIdentityClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """End background refreshes and release the HTTP client if this client created it.

        Safe to call twice.
        """
        self.mark_closed()
        await self._jobs.aclose()
        await self._transport.aclose()

    def mark_closed(self) -> None:
        """Refuse further acquisitions (cache hits included) without awaiting anything."""
        self._closed = True
        if self._hot is not None:
            self._hot.clear()

    def cached_token(self, resource: str) -> AccessTokenResult | None:
        """The fresh cached token for ``resource`` as last acquired by this client, or None."""
        hot = self._hot
        if hot is not None:
            try:
                entry = hot.get(resource)
            except TypeError:  # an unhashable scope list: take the slow path
                return None
            if entry is not None and self._clock() < entry.refresh_at:
                self._counters.cache_hits += 1
                return entry.result
        return None

    async def acquire_token(
        self,
        resource: str | Sequence[str],
        *,
        claims: str | None = None,
        force_refresh: bool = False,
        correlation_id: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - a budget that also bounds retries
    ) -> AccessTokenResult:
        """Return a token for ``resource`` (or one ``…/.default`` scope).

        ``claims`` (a claims-challenge JSON) and ``force_refresh`` skip the cache read
        and replace the cached entry.  ``timeout`` overrides the client's total budget
        for this call.  Raises :class:`ManagedIdentityError` on failure.
        """
        if not force_refresh and claims is None:
            hit = self.cached_token(resource)  # type: ignore[arg-type]
            if hit is not None:
                return hit
        request = self._new_request(resource, claims, force_refresh, correlation_id, timeout)
        result = await self.run_pipeline(request)
        self._remember(resource, request)
        return result

    async def run_pipeline(self, request: TokenRequest) -> AccessTokenResult:
        """Send ``request`` through the pipeline within its ``timeout`` budget."""
        if request.timeout is None:
            return await self._handler(request)
        with anyio.move_on_after(request.timeout) as scope:
            return await self._handler(request)
        assert scope.cancelled_caught
        error = ManagedIdentityNetworkError(
            f"No token within the {request.timeout:g} s budget for one acquisition",
            error_code=ErrorCode.REQUEST_TIMEOUT,
            correlation_id=request.correlation_id,
            source=request.source.kind,
        )
        self._fetch.annotate(error, request)
        raise error

    async def get_managed_identity_source(self) -> ManagedIdentitySourceKind:
        """Which source this environment selects; reads the environment, no network call."""
        return self.detect_source().kind

    def statistics(self) -> ClientStatistics:
        """An immutable snapshot of this client's counters; no network call."""
        return self._counters.snapshot(self._cache.in_flight)

    def detect_source(self) -> ManagedIdentitySource:
        """The configured source this environment selects (sync: no I/O but a file check)."""
        env = os.environ if self._environ is None else self._environ
        return detect_source(env, self._sources, self._platform)

    def _new_request(
        self,
        resource: str | Sequence[str],
        claims: str | None,
        force_refresh: bool,
        correlation_id: str | None,
        timeout: float | None,
    ) -> TokenRequest:
        if self._closed:
            raise ManagedIdentityConfigurationError(
                "This ManagedIdentityClient is closed; create a new one",
                error_code=ErrorCode.CLIENT_CLOSED,
            )
        return TokenRequest(
            resource=resource_from_scopes(resource),
            identity=self.identity,
            source=self.detect_source(),
            correlation_id=correlation_id or str(uuid.uuid4()),
            claims=claims or None,
            force_refresh=force_refresh,
            client_capabilities=self._capabilities,
            timeout=self._timeout if timeout is None else timeout,
        )

    def _remember(self, resource: str | Sequence[str], request: TokenRequest) -> None:
        hot = self._hot
        if hot is None or not isinstance(resource, str):
            return
        entry = self._cache.peek(request.cache_key)
        if entry is not None:
            if len(hot) >= _HOT_LIMIT:
                hot.clear()
            hot[resource] = entry
