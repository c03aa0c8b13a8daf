"""Callables returning a bearer token string, for clients that take a token provider."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ._client import ManagedIdentityClient
from ._scopes import resource_from_scopes
from ._sync import SyncManagedIdentityClient

__all__ = ["async_bearer_token_provider", "bearer_token_provider"]


def bearer_token_provider(resource: str, *, client: SyncManagedIdentityClient) -> Callable[[], str]:
    """A function returning a current token for ``resource`` (e.g. OpenAI's
    ``azure_ad_token_provider``).  A cache hit is one dictionary lookup, no I/O.

    The caller owns ``client`` and closes it when the provider is no longer used.
    """
    checked = resource_from_scopes(resource)

    def token() -> str:
        return client.acquire_token(checked).access_token

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
