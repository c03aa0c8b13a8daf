"""The blocking facade: the same pipeline, driven from any thread."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from ._client import ManagedIdentityClient
from ._identity import ManagedIdentity
from ._kinds import ManagedIdentitySourceKind
from ._portal import PortalThread
from ._result import AccessTokenResult
from ._stats import ClientStatistics

__all__ = ["SyncManagedIdentityClient"]


class SyncManagedIdentityClient:
    """Blocking twin of :class:`ManagedIdentityClient`, taking the same arguments.

    Cache hits are answered in the calling thread.  Misses run on one long-lived event
    loop in a background thread, so the HTTP connection pool and single flight are
    shared by every thread.  Works from plain threads and from a thread whose own event
    loop is running.  Use ``with`` or :meth:`close`.
    """

    def __init__(self, identity: ManagedIdentity | None = None, **kwargs: Any) -> None:
        self._client = ManagedIdentityClient(identity, **kwargs)
        self._portal = PortalThread()

    def __repr__(self) -> str:
        return f"SyncManagedIdentityClient({self._client.identity!r})"

    def __enter__(self) -> SyncManagedIdentityClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def identity(self) -> ManagedIdentity:
        return self._client.identity

    def acquire_token(
        self,
        resource: str | Sequence[str],
        *,
        claims: str | None = None,
        force_refresh: bool = False,
        correlation_id: str | None = None,
        timeout: float | None = None,
    ) -> AccessTokenResult:
        """Blocking :meth:`ManagedIdentityClient.acquire_token` (same budget rules)."""
        if not force_refresh and claims is None:
            hit = self._client.cached_token(resource)  # type: ignore[arg-type]
            if hit is not None:
                return hit
        acquire = functools.partial(
            self._client.acquire_token,
            resource,
            claims=claims,
            force_refresh=force_refresh,
            correlation_id=correlation_id,
            timeout=timeout,
        )
        return self._portal.call(acquire)

    def get_managed_identity_source(self) -> ManagedIdentitySourceKind:
        """Which source this environment selects; no network call."""
        return self._client.detect_source().kind

    def statistics(self) -> ClientStatistics:
        return self._client.statistics()

    def close(self) -> None:
        """Close the HTTP client and stop the background loop.  Safe to call twice."""
        self._client.mark_closed()
        self._portal.stop(self._client.aclose)
