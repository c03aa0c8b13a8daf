"""End to end against the real emulator on loopback: the core's acceptance checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import anyio
import pytest

from msal_mi_async import (
    ManagedIdentityClient,
    ManagedIdentitySourceKind,
    MemoryTokenCache,
    Platform,
    SyncManagedIdentityClient,
    TokenSource,
    UserAssignedManagedIdentity,
)
from msal_mi_async.emulator import Emulator, Fault

ARM = "https://management.azure.com"
LINUX = Platform(system="linux", file_exists=lambda path: False)
Kind = ManagedIdentitySourceKind


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture(autouse=True)
def fresh(emulator: Emulator) -> None:
    emulator.reset()


def client_for(emu: Emulator, kind: Kind = Kind.IMDS, **kwargs: object) -> ManagedIdentityClient:
    return ManagedIdentityClient(
        environ=emu.env(kind),
        token_cache=MemoryTokenCache(),
        platform=LINUX,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.anyio
async def test_imds_request_on_the_wire(emulator: Emulator) -> None:
    async with client_for(emulator) as client:
        result = await client.acquire_token(f"{ARM}/.default", correlation_id="wire-1")
    [seen] = emulator.requests
    assert (seen.method, seen.path, seen.source) == (
        "GET",
        "/metadata/identity/oauth2/token",
        "imds",
    )
    assert seen.query == {"api-version": "2018-02-01", "resource": ARM}
    assert seen.headers["metadata"] == "true"
    assert seen.headers["x-ms-client-request-id"] == "wire-1"
    assert "cookie" not in seen.headers
    assert result.managed_identity_source is Kind.IMDS
    assert result.access_token.count(".") == 2


@pytest.mark.anyio
async def test_app_service_user_assigned_on_the_wire(emulator: Emulator) -> None:
    [identity] = emulator.user_assigned
    assert identity.client_id is not None
    uami = UserAssignedManagedIdentity(client_id=identity.client_id)
    async with client_for(emulator, Kind.APP_SERVICE, identity=uami) as client:
        result = await client.acquire_token(ARM)
    [seen] = emulator.requests
    assert (seen.path, seen.source) == ("/msi/token", "app_service")
    assert seen.query == {
        "api-version": "2019-08-01",
        "resource": ARM,
        "client_id": identity.client_id,
    }
    assert seen.headers["x-identity-header"] == emulator.identity_header
    assert result.managed_identity_source is Kind.APP_SERVICE


@pytest.mark.anyio
async def test_thousand_tasks_on_a_cold_key_make_one_request(emulator: Emulator) -> None:
    emulator.inject(Fault(status=200, delay=0.2))  # hold the answer so callers pile up
    tokens: list[str] = []
    async with client_for(emulator) as client:

        async def caller() -> None:
            tokens.append((await client.acquire_token(ARM)).access_token)

        async with anyio.create_task_group() as group:
            for _ in range(1000):
                group.start_soon(caller)
        assert client.statistics().fetches == 1
    assert emulator.request_count == 1
    assert len(tokens) == 1000
    assert len(set(tokens)) == 1


def test_sixty_four_threads_make_one_request(emulator: Emulator) -> None:
    emulator.inject(Fault(status=200, delay=0.2))
    barrier = threading.Barrier(64)
    tokens: list[str] = []
    with SyncManagedIdentityClient(
        environ=emulator.env(Kind.IMDS), token_cache=MemoryTokenCache(), platform=LINUX
    ) as client:

        def worker() -> None:
            barrier.wait()
            tokens.append(client.acquire_token(ARM).access_token)

        threads = [threading.Thread(target=worker) for _ in range(64)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        hit = client.acquire_token(ARM)
    assert emulator.request_count == 1
    assert len(tokens) == 64
    assert len(set(tokens)) == 1
    assert hit.token_source is TokenSource.CACHE


def test_async_and_sync_clients_share_one_flight_across_loops(emulator: Emulator) -> None:
    """A task on the caller's loop and threads on the portal loop wait on one request."""
    emulator.inject(Fault(status=200, delay=0.3))
    cache = MemoryTokenCache()
    env = emulator.env(Kind.IMDS)
    sync_client = SyncManagedIdentityClient(environ=env, token_cache=cache, platform=LINUX)
    tokens: list[str] = []

    async def main() -> None:
        client = ManagedIdentityClient(environ=env, token_cache=cache, platform=LINUX)

        async def from_async() -> None:
            tokens.append((await client.acquire_token(ARM)).access_token)

        def from_thread() -> None:
            tokens.append(sync_client.acquire_token(ARM).access_token)

        async with client, anyio.create_task_group() as group:
            group.start_soon(from_async)
            await anyio.wait_all_tasks_blocked()
            await anyio.to_thread.run_sync(from_thread)

    anyio.run(main)
    sync_client.close()
    assert emulator.request_count == 1
    assert len(tokens) == 2
    assert len(set(tokens)) == 1
