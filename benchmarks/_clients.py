"""The clients compared, behind one small adapter shape each (sync or async).

Every adapter talks to the same emulator endpoint, reached through the
``AZURE_POD_IDENTITY_AUTHORITY_HOST`` variable (IMDS flavour).  msal and azure-identity
read it from ``os.environ`` (msal: ``managed_identity.py`` ``_obtain_token_on_azure_vm``;
azure-identity: ``_credentials/imds.py``, which also skips its IMDS probe when it is set),
so the runner puts it there; ours is given the same mapping as ``environ=``.

A forced refresh is ``force_refresh=True`` for ours; msal and azure-identity have no such
switch for managed identity, so a claims challenge (``"{}"``) is used, which is how both
skip their cache read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

RESOURCE = "https://management.azure.com"
SCOPE = RESOURCE + "/.default"
CLAIMS = "{}"

OURS_ASYNC = "msal_mi_async (async)"
OURS_SYNC = "msal_mi_async (sync facade)"
MSAL = "msal ManagedIdentityClient"
AZ_SYNC = "azure-identity (sync)"
AZ_AIO = "azure-identity (aio, aiohttp)"
HTTPX = "bare httpx request"

OURS = (OURS_ASYNC, OURS_SYNC)
PEERS = (MSAL, AZ_SYNC, AZ_AIO)
COLUMNS = (*OURS, *PEERS, HTTPX)

Call = Callable[[], object]
ACall = Callable[[], Coroutine[Any, Any, object]]


class SyncAdapter:
    """make() a new client; hitter/forcer give zero-argument callables; close() it."""

    name = ""

    def make(self) -> Any:
        raise NotImplementedError

    def hitter(self, client: Any) -> Call:
        raise NotImplementedError

    def forcer(self, client: Any) -> Call:
        raise NotImplementedError

    def close(self, client: Any) -> None:
        """Most sync peers hold nothing that needs closing."""


class AsyncAdapter:
    name = ""

    async def make(self) -> Any:
        raise NotImplementedError

    def hitter(self, client: Any) -> ACall:
        raise NotImplementedError

    def forcer(self, client: Any) -> ACall:
        raise NotImplementedError

    async def close(self, client: Any) -> None:
        await client.close()


class OursAsync(AsyncAdapter):
    name = OURS_ASYNC

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)

    async def make(self) -> Any:
        from msal_mi_async import ManagedIdentityClient, MemoryTokenCache

        return ManagedIdentityClient(environ=self.env, token_cache=MemoryTokenCache())

    def hitter(self, client: Any) -> ACall:
        return functools.partial(client.acquire_token, RESOURCE)

    def forcer(self, client: Any) -> ACall:
        return functools.partial(client.acquire_token, RESOURCE, force_refresh=True)

    async def close(self, client: Any) -> None:
        await client.aclose()


class OursSync(SyncAdapter):
    name = OURS_SYNC

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)

    def make(self) -> Any:
        from msal_mi_async import MemoryTokenCache, SyncManagedIdentityClient

        return SyncManagedIdentityClient(environ=self.env, token_cache=MemoryTokenCache())

    def hitter(self, client: Any) -> Call:
        return functools.partial(client.acquire_token, RESOURCE)

    def forcer(self, client: Any) -> Call:
        return functools.partial(client.acquire_token, RESOURCE, force_refresh=True)

    def close(self, client: Any) -> None:
        client.close()


class Msal(SyncAdapter):
    name = MSAL

    def make(self) -> Any:
        import msal
        import requests

        return msal.ManagedIdentityClient(
            msal.SystemAssignedManagedIdentity(), http_client=requests.Session()
        )

    def hitter(self, client: Any) -> Call:
        return functools.partial(client.acquire_token_for_client, resource=RESOURCE)

    def forcer(self, client: Any) -> Call:
        return functools.partial(
            client.acquire_token_for_client, resource=RESOURCE, claims_challenge=CLAIMS
        )


class AzureSync(SyncAdapter):
    name = AZ_SYNC

    def make(self) -> Any:
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential()

    def hitter(self, client: Any) -> Call:
        return functools.partial(client.get_token, SCOPE)

    def forcer(self, client: Any) -> Call:
        return functools.partial(client.get_token, SCOPE, claims=CLAIMS)

    def close(self, client: Any) -> None:
        client.close()


class AzureAio(AsyncAdapter):
    name = AZ_AIO

    async def make(self) -> Any:
        from azure.identity.aio import ManagedIdentityCredential

        return ManagedIdentityCredential()

    def hitter(self, client: Any) -> ACall:
        return functools.partial(client.get_token, SCOPE)

    def forcer(self, client: Any) -> ACall:
        return functools.partial(client.get_token, SCOPE, claims=CLAIMS)


class BareHttpx(AsyncAdapter):
    """The floor: one GET of the same IMDS request on an httpx.AsyncClient."""

    name = HTTPX

    def __init__(self, env: Mapping[str, str]) -> None:
        host = env["AZURE_POD_IDENTITY_AUTHORITY_HOST"]
        self.url = host + "/metadata/identity/oauth2/token"

    async def make(self) -> Any:
        import httpx

        return httpx.AsyncClient(trust_env=False)

    def hitter(self, client: Any) -> ACall:
        raise NotImplementedError("httpx has no cache")

    def forcer(self, client: Any) -> ACall:
        return functools.partial(
            client.get,
            self.url,
            params={"api-version": "2018-02-01", "resource": RESOURCE},
            headers={"Metadata": "true"},
        )

    async def close(self, client: Any) -> None:
        await client.aclose()


def adapters(env: Mapping[str, str]) -> tuple[list[SyncAdapter], list[AsyncAdapter]]:
    return [OursSync(env), Msal(), AzureSync()], [OursAsync(env), AzureAio(), BareHttpx(env)]
