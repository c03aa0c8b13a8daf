"""Token providers: a callable returning the token string, with no I/O on a cache hit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from msal_mi_async import (
    InvalidResourceError,
    ManagedIdentityClient,
    MemoryTokenCache,
    SyncManagedIdentityClient,
    async_bearer_token_provider,
    bearer_token_provider,
)
from msal_mi_async.emulator import Emulator
from msal_mi_async.testing import assert_requests

pytestmark = pytest.mark.anyio
RESOURCE = "https://cognitiveservices.azure.com"


@pytest.fixture
def sync_client() -> Iterator[SyncManagedIdentityClient]:
    with SyncManagedIdentityClient(token_cache=MemoryTokenCache()) as client:
        yield client


def test_sync_provider_fetches_once_then_hits(
    mi_emulator: Emulator, sync_client: SyncManagedIdentityClient
) -> None:
    provider = bearer_token_provider(f"{RESOURCE}/.default", client=sync_client)
    tokens = {provider() for _ in range(100)}
    (token,) = tokens
    assert token.count(".") == 2
    assert_requests(mi_emulator, 1, resource=RESOURCE)
    stats = sync_client.statistics()
    assert stats.cache_hits == 99


async def test_async_provider_fetches_once_then_hits(mi_emulator: Emulator) -> None:
    async with ManagedIdentityClient(token_cache=MemoryTokenCache()) as client:
        provider = async_bearer_token_provider(RESOURCE, client=client)
        tokens = {await provider() for _ in range(100)}
        assert client.statistics().cache_hits == 99
    assert len(tokens) == 1
    assert_requests(mi_emulator, 1, resource=RESOURCE)


async def test_invalid_resource_fails_when_the_provider_is_made(
    sync_client: SyncManagedIdentityClient,
) -> None:
    async with ManagedIdentityClient(token_cache=MemoryTokenCache()) as client:
        with pytest.raises(InvalidResourceError):
            async_bearer_token_provider("", client=client)
    with pytest.raises(InvalidResourceError):
        bearer_token_provider("a b", client=sync_client)
