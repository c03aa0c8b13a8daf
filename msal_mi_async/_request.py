"""The request that travels through the acquisition pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ._identity import ManagedIdentity

if TYPE_CHECKING:
    from ._sources._base import ManagedIdentitySource

__all__ = ["AttemptLog", "CacheKey", "TokenRequest"]

#: (source, identity kind, identity value, resource, token type) — protocol.md §6.
CacheKey = tuple[str, str, str, str, str]


@attrs.define
class AttemptLog:
    """How many HTTP attempts one acquisition made, and when it started (monotonic s)."""

    started: float | None = None
    attempts: int = 0
    last_attempt_end: float | None = None


@attrs.frozen(slots=True)
class TokenRequest:
    """One acquisition: what is asked for, from which source, and under which correlation id.

    ``previous_token`` is the cached token being replaced on a forced or claims refresh
    (Service Fabric sends its hash); it is never shown by ``repr``.  ``timeout`` is this
    acquisition's total budget in seconds (None: unbounded); ``attempts`` records the
    HTTP attempts made for it.  Neither is part of equality or the cache key.
    """

    resource: str
    identity: ManagedIdentity
    source: ManagedIdentitySource
    correlation_id: str
    claims: str | None = None
    force_refresh: bool = False
    client_capabilities: tuple[str, ...] = ()
    previous_token: str | None = attrs.field(default=None, repr=False)
    token_type: str = "Bearer"
    timeout: float | None = attrs.field(default=None, eq=False)
    attempts: AttemptLog = attrs.field(factory=AttemptLog, eq=False, repr=False)

    @property
    def bypasses_cache(self) -> bool:
        return self.force_refresh or self.claims is not None

    @property
    def cache_key(self) -> CacheKey:
        return (
            self.source.kind.value,
            self.identity.kind.value,
            self.identity.value or "",
            self.resource,
            self.token_type,
        )
