"""Callables returning a bearer token string, for clients that take a token provider."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ._client import ManagedIdentityClient
from ._scopes import resource_from_scopes
from ._sync import SyncManagedIdentityClient

__all__ = ["async_bearer_token_provider", "bearer_token_provider"]


def bearer_token_provider(
    resource: str, *, client: SyncManagedIdentityClient | None = None
) -> Callable[[], str]:
    """A function returning a current token for ``resource`` (e.g. OpenAI's
    ``azure_ad_token_provider``).  A cache hit is one dictionary lookup, no I/O.

    Without ``client``, a :class:`SyncManagedIdentityClient` for the system-assigned
    identity is created, sharing the process-wide cache.
    """
    checked = resource_from_scopes(resource)
    owner = client or SyncManagedIdentityClient()

    def token() -> str:
        return owner.acquire_token(checked).access_token

    return token


def async_bearer_token_provider(
    resource: str, *, client: ManagedIdentityClient
) -> Callable[[], Awaitable[str]]:
    """An async function returning a current token for ``resource`` (e.g. for a database
    pool's password callback).  A cache hit is one dictionary lookup, no I/O.
    """
    checked = resource_from_scopes(resource)

    async def token() -> str:
        hit = client.cached_token(checked)
        if hit is not None:
            return hit.access_token
        return (await client.acquire_token(checked)).access_token

    return token
