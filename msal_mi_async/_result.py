"""The value returned by ``acquire_token``."""

from __future__ import annotations

import attrs

from ._kinds import ManagedIdentitySourceKind, TokenSource

__all__ = ["AccessTokenResult"]


@attrs.frozen(slots=True)
class AccessTokenResult:
    """An access token and what is known about it.  ``repr`` never shows the token."""

    access_token: str = attrs.field(repr=False)
    token_type: str
    expires_on: int
    refresh_on: int | None
    resource: str
    token_source: TokenSource
    managed_identity_source: ManagedIdentitySourceKind
    correlation_id: str

    def __str__(self) -> str:
        return repr(self)
