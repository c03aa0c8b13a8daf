"""``httpx.Auth`` that sends managed-identity bearer tokens and answers claims challenges."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import httpx

from ._challenge import claims_from_challenge
from ._client import ManagedIdentityClient
from ._scopes import resource_from_scopes
from ._sync import SyncManagedIdentityClient

__all__ = ["ManagedIdentityAuth"]


def _authorize(request: httpx.Request, token: str) -> httpx.Request:
    request.headers["Authorization"] = f"Bearer {token}"
    return request


def _challenge(response: httpx.Response) -> str | None:
    if response.status_code != 401:
        return None
    return claims_from_challenge(response.headers.get("www-authenticate"))


class ManagedIdentityAuth(httpx.Auth):
    """Authenticate httpx requests with a managed-identity token for ``resource``.

    ``client`` is a :class:`SyncManagedIdentityClient` for ``httpx.Client`` or a
    :class:`ManagedIdentityClient` for ``httpx.AsyncClient``; the caller owns it.  On a
    401 whose ``WWW-Authenticate`` carries an ``insufficient_claims`` challenge, a token
    is acquired with those claims and the request is retried once.
    """

    def __init__(
        self, resource: str, *, client: SyncManagedIdentityClient | ManagedIdentityClient
    ) -> None:
        self.resource = resource_from_scopes(resource)
        self._client = client

    def __repr__(self) -> str:
        return f"ManagedIdentityAuth({self.resource!r}, client={self._client!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        client = self._client
        if not isinstance(client, SyncManagedIdentityClient):
            raise TypeError(
                "httpx.Client needs ManagedIdentityAuth(client=SyncManagedIdentityClient)"
            )
        token = client.acquire_token(self.resource).access_token
        response = yield _authorize(request, token)
        claims = _challenge(response)
        if claims is not None:
            response.read()
            token = client.acquire_token(self.resource, claims=claims).access_token
            yield _authorize(request, token)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        client = self._client
        if not isinstance(client, ManagedIdentityClient):
            raise TypeError(
                "httpx.AsyncClient needs ManagedIdentityAuth(client=ManagedIdentityClient)"
            )
        token = (await client.acquire_token(self.resource)).access_token
        response = yield _authorize(request, token)
        claims = _challenge(response)
        if claims is not None:
            await response.aread()
            token = (await client.acquire_token(self.resource, claims=claims)).access_token
            yield _authorize(request, token)
