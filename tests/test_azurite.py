"""azure-storage-blob on Azurite, authenticated only by our credentials and emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport import TrioRequestsTransport
from azure.storage.blob import BlobServiceClient
from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient

from msal_mi_async import MemoryTokenCache
from msal_mi_async.credentials import AsyncManagedIdentityCredential, ManagedIdentityCredential
from msal_mi_async.emulator import Emulator
from msal_mi_async.testing import assert_requests

from .azurite import Azurite, find_azurite, running_azurite, unavailable

pytestmark = pytest.mark.anyio
STORAGE = "https://storage.azure.com"


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    command = find_azurite()
    if command is None:
        unavailable("node or azurite-blob not found (run .ci/run, or set AZURITE_BLOB)")
        raise AssertionError("unreachable")
    with running_azurite(command, tmp_path_factory.mktemp("azurite")) as server:
        yield server


def test_sync_blob_round_trip(azurite: Azurite, mi_emulator: Emulator) -> None:
    with ManagedIdentityCredential(token_cache=MemoryTokenCache()) as credential:
        service = BlobServiceClient(
            azurite.account_url, credential=credential, connection_verify=azurite.ca_file
        )
        with service:
            container = service.create_container("sync-round-trip")
            container.upload_blob("hello.txt", b"hello from a managed identity")
            data = container.download_blob("hello.txt").readall()
            names = [blob.name for blob in container.list_blobs()]
    assert data == b"hello from a managed identity"
    assert names == ["hello.txt"]
    assert_requests(mi_emulator, 1, source="imds", resource=STORAGE)


def _async_service(
    azurite: Azurite, credential: AsyncManagedIdentityCredential, backend: str
) -> AsyncBlobServiceClient:
    """The SDK's default aiohttp transport on asyncio; azure-core's trio transport on trio."""
    extra: dict[str, Any] = {}
    if backend == "trio":
        extra["transport"] = TrioRequestsTransport(connection_verify=azurite.ca_file)
    return AsyncBlobServiceClient(
        azurite.account_url, credential=credential, connection_verify=azurite.ca_file, **extra
    )


async def test_async_blob_round_trip(
    azurite: Azurite, mi_emulator: Emulator, anyio_backend: str
) -> None:
    credential = AsyncManagedIdentityCredential(token_cache=MemoryTokenCache())
    async with credential, _async_service(azurite, credential, anyio_backend) as service:
        container = service.get_container_client(f"async-{anyio_backend}")
        await container.create_container()
        await container.upload_blob("hello.txt", b"async hello")
        downloaded = await container.download_blob("hello.txt")
        data = await downloaded.readall()
    assert data == b"async hello"
    assert_requests(mi_emulator, 1, source="imds", resource=STORAGE)


def test_wrong_audience_is_refused(azurite: Azurite, mi_emulator: Emulator) -> None:
    vault = "https://vault.azure.net"
    with ManagedIdentityCredential(token_cache=MemoryTokenCache()) as credential:
        service = BlobServiceClient(
            azurite.account_url,
            credential=credential,
            connection_verify=azurite.ca_file,
            audience=vault,
        )
        with service, pytest.raises(HttpResponseError) as caught:
            service.create_container("never-created")
    assert caught.value.status_code == 403
    assert "ErrorCode:AuthenticationFailed" in str(caught.value)
    assert "Invalid token audience." in str(caught.value)
    assert_requests(mi_emulator, 1, resource=vault)
