"""Azure SDK credentials over msal_mi_async (optional extra ``[azure]``).

    from azure.storage.blob import BlobServiceClient
    from msal_mi_async.credentials import ManagedIdentityCredential

    with ManagedIdentityCredential() as credential:
        blobs = BlobServiceClient(account_url, credential=credential)

Both credentials take exactly one scope.  ``claims`` (a claims challenge) skips the
cache read, as in azure-identity; ``tenant_id`` and ``enable_cae`` are accepted and
ignored, because a managed identity endpoint takes neither (client capabilities such as
``cp1`` are a client setting: ``client_capabilities=``).  Failures raise azure-core's
``ClientAuthenticationError`` (:class:`CredentialUnavailableError` when no managed
identity is reachable here), chained to the original :class:`ManagedIdentityError`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import ClientAuthenticationError

from ._client import ManagedIdentityClient
from ._errors import (
    ErrorCode,
    InvalidResourceError,
    ManagedIdentityError,
    ManagedIdentityNetworkError,
)
from ._identity import ManagedIdentity, UserAssignedManagedIdentity
from ._result import AccessTokenResult
from ._scopes import resource_from_scopes
from ._sync import SyncManagedIdentityClient

C = TypeVar("C", ManagedIdentityClient, SyncManagedIdentityClient)

__all__ = [
    "AsyncManagedIdentityCredential",
    "CredentialUnavailableError",
    "ManagedIdentityCredential",
]

#: Codes meaning "no managed identity here", which credential chains skip past; every
#: network error (unreachable, timed out) means the same, as in azure-identity.
UNAVAILABLE_CODES = frozenset(
    {
        ErrorCode.ALL_SOURCES_UNAVAILABLE,
        ErrorCode.SOURCE_NOT_IMPLEMENTED,
        ErrorCode.USER_ASSIGNED_NOT_SUPPORTED,
    }
)


class CredentialUnavailableError(ClientAuthenticationError):
    """No managed identity is available here (azure-identity's exception of the same name)."""


def _identity(
    identity: ManagedIdentity | None,
    client_id: str | None,
    resource_id: str | None,
    object_id: str | None,
) -> ManagedIdentity | None:
    if client_id is None and resource_id is None and object_id is None:
        return identity
    if identity is not None:
        raise ValueError("pass either identity or one of client_id, resource_id, object_id")
    return UserAssignedManagedIdentity(
        client_id=client_id, resource_id=resource_id, object_id=object_id
    )


def _client_or_new(
    client: C | None,
    factory: Callable[..., C],
    identity: ManagedIdentity | None,
    selectors: tuple[str | None, str | None, str | None],
    client_kwargs: dict[str, Any],
) -> tuple[C, bool]:
    """The given client (not owned), or a new one built from the arguments (owned)."""
    chosen = _identity(identity, *selectors)
    if client is not None:
        if chosen is not None or client_kwargs:
            raise ValueError("pass either client or the arguments to build one, not both")
        return client, False
    return factory(chosen, **client_kwargs), True


def _resource(scopes: tuple[str, ...]) -> str:
    if len(scopes) != 1:
        raise InvalidResourceError(
            f"a managed identity credential takes exactly one scope, got {len(scopes)}",
            error_code=ErrorCode.INVALID_RESOURCE,
        )
    return _scope_to_resource(scopes[0])


@functools.lru_cache(maxsize=256)
def _scope_to_resource(scope: str) -> str:
    """Memoized: SDK clients ask for the same scope on every request."""
    return resource_from_scopes(scope)


def _options(claims: str | None, tenant_id: str | None, enable_cae: bool) -> TokenRequestOptions:
    options: TokenRequestOptions = {"enable_cae": enable_cae}
    if claims:
        options["claims"] = claims
    if tenant_id:
        options["tenant_id"] = tenant_id
    return options


def _claims(options: TokenRequestOptions | None) -> str | None:
    return options.get("claims") or None if options else None


def _info(result: AccessTokenResult) -> AccessTokenInfo:
    return AccessTokenInfo(
        result.access_token,
        result.expires_on,
        token_type=result.token_type,
        refresh_on=result.refresh_on,
    )


def _token(info: AccessTokenInfo) -> AccessToken:
    return AccessToken(info.token, info.expires_on)


def _azure_error(exc: ManagedIdentityError) -> ClientAuthenticationError:
    """azure-core's exception for ``exc``: the one boundary where errors are mapped."""
    unavailable = (
        isinstance(exc, ManagedIdentityNetworkError) or exc.error_code in UNAVAILABLE_CODES
    )
    kind = CredentialUnavailableError if unavailable else ClientAuthenticationError
    return kind(message=f"ManagedIdentityCredential: {exc}")


class ManagedIdentityCredential:
    """azure-core ``TokenCredential`` and ``SupportsTokenInfo`` over the blocking client.

    Takes :class:`SyncManagedIdentityClient`'s arguments, plus ``client_id``,
    ``resource_id`` or ``object_id`` as a shorthand for a user-assigned identity.  Pass
    ``client=`` to share an existing client (the caller then owns it).  Tokens are shared
    with every other client on the same cache (the process-wide one by default).
    """

    def __init__(
        self,
        identity: ManagedIdentity | None = None,
        *,
        client_id: str | None = None,
        resource_id: str | None = None,
        object_id: str | None = None,
        client: SyncManagedIdentityClient | None = None,
        **client_kwargs: Any,
    ) -> None:
        self._client, self._owns_client = _client_or_new(
            client,
            SyncManagedIdentityClient,
            identity,
            (client_id, resource_id, object_id),
            client_kwargs,
        )

    def __repr__(self) -> str:
        return f"ManagedIdentityCredential({self._client.identity!r})"

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """An ``AccessToken`` for one scope; ``claims`` skips the cache read."""
        return _token(self.get_token_info(*scopes, options=_options(claims, tenant_id, enable_cae)))

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        """An ``AccessTokenInfo`` (with ``refresh_on``) for one scope."""
        resource = _resource(scopes)  # InvalidResourceError is a ValueError, as in azure-identity
        try:
            result = self._client.acquire_token(resource, claims=_claims(options))
        except ManagedIdentityError as exc:
            raise _azure_error(exc) from exc
        return _info(result)

    def close(self) -> None:
        """Close the client this credential created (not one passed as ``client=``)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> ManagedIdentityCredential:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncManagedIdentityCredential:
    """azure-core ``AsyncTokenCredential`` and ``AsyncSupportsTokenInfo`` (asyncio or trio).

    Same arguments as :class:`ManagedIdentityCredential`; ``client=`` takes a
    :class:`ManagedIdentityClient`.
    """

    def __init__(
        self,
        identity: ManagedIdentity | None = None,
        *,
        client_id: str | None = None,
        resource_id: str | None = None,
        object_id: str | None = None,
        client: ManagedIdentityClient | None = None,
        **client_kwargs: Any,
    ) -> None:
        self._client, self._owns_client = _client_or_new(
            client,
            ManagedIdentityClient,
            identity,
            (client_id, resource_id, object_id),
            client_kwargs,
        )

    def __repr__(self) -> str:
        return f"AsyncManagedIdentityCredential({self._client.identity!r})"

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """An ``AccessToken`` for one scope; ``claims`` skips the cache read."""
        options = _options(claims, tenant_id, enable_cae)
        return _token(await self.get_token_info(*scopes, options=options))

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        """An ``AccessTokenInfo`` (with ``refresh_on``) for one scope."""
        resource = _resource(scopes)  # InvalidResourceError is a ValueError, as in azure-identity
        try:
            result = await self._client.acquire_token(resource, claims=_claims(options))
        except ManagedIdentityError as exc:
            raise _azure_error(exc) from exc
        return _info(result)

    async def close(self) -> None:
        """Close the client this credential created (not one passed as ``client=``)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncManagedIdentityCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.close()
