"""The Azure SDK credentials inside real azure-core pipelines, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from azure.core.credentials import AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline import AsyncPipeline, Pipeline
from azure.core.pipeline.policies import (
    AsyncBearerTokenCredentialPolicy,
    BearerTokenCredentialPolicy,
)
from azure.core.pipeline.transport import (
    AioHttpTransport,
    AsyncHttpTransport,
    RequestsTransport,
    TrioRequestsTransport,
)
from azure.core.rest import HttpRequest, HttpResponse

from msal_mi_async import (
    ErrorCode,
    ManagedIdentityClient,
    ManagedIdentityError,
    MemoryTokenCache,
    RetryPolicy,
    SyncManagedIdentityClient,
    UserAssignedManagedIdentity,
)
from msal_mi_async.credentials import (
    AsyncManagedIdentityCredential,
    CredentialUnavailableError,
    ManagedIdentityCredential,
)
from msal_mi_async.emulator import Emulator, Fault
from msal_mi_async.testing import assert_requests, patched_environ

from .loopback import CLAIMS, Target, running_target

pytestmark = pytest.mark.anyio
STORAGE = "https://storage.azure.com"
SCOPE = f"{STORAGE}/.default"


@pytest.fixture
def target() -> Iterator[Target]:
    with running_target() as target:
        yield target


def _sync_pipeline(credential: ManagedIdentityCredential) -> Pipeline[HttpRequest, HttpResponse]:
    return Pipeline(RequestsTransport(), [BearerTokenCredentialPolicy(credential, SCOPE)])


def _transport(backend: str) -> AsyncHttpTransport[Any, Any]:
    transport: AsyncHttpTransport[Any, Any] = (
        AioHttpTransport() if backend == "asyncio" else TrioRequestsTransport()
    )
    return transport


def test_sync_credential_authorizes_pipeline_requests(
    mi_emulator: Emulator, target: Target
) -> None:
    with ManagedIdentityCredential() as credential:
        pipeline = _sync_pipeline(credential)
        for _ in range(3):
            response = pipeline.run(HttpRequest("GET", target.url), enforce_https=False)
            assert response.http_response.status_code == 200
    assert_requests(mi_emulator, 1, source="imds", resource=STORAGE)
    assert len(set(target.tokens)) == 1
    assert target.tokens[0].count(".") == 2  # the emulator's JWT, sent as a Bearer token


def test_sync_policy_claims_challenge_gets_a_fresh_token(
    mi_emulator: Emulator, target: Target
) -> None:
    target.challenge_next()
    with ManagedIdentityCredential() as credential:
        response = _sync_pipeline(credential).run(
            HttpRequest("GET", target.url), enforce_https=False
        )
    assert response.http_response.status_code == 200
    assert_requests(mi_emulator, 2, resource=STORAGE)  # the challenge skipped the cache
    first, second = target.tokens
    assert first != second


async def test_async_credential_authorizes_pipeline_requests(
    mi_emulator: Emulator, target: Target, anyio_backend: str
) -> None:
    async with AsyncManagedIdentityCredential() as credential:
        policy = AsyncBearerTokenCredentialPolicy(credential, SCOPE)
        async with AsyncPipeline(_transport(anyio_backend), [policy]) as pipeline:
            target.challenge_next()
            for _ in range(3):
                response = await pipeline.run(HttpRequest("GET", target.url), enforce_https=False)
                assert response.http_response.status_code == 200
    assert_requests(mi_emulator, 2, source="imds", resource=STORAGE)
    assert len(target.tokens) == 4
    assert target.tokens[0] != target.tokens[1] == target.tokens[2] == target.tokens[3]


async def test_sync_and_async_credentials_share_the_cache(mi_emulator: Emulator) -> None:
    cache = MemoryTokenCache()
    with ManagedIdentityCredential(token_cache=cache) as sync_credential:
        first = await anyio.to_thread.run_sync(sync_credential.get_token, SCOPE)
    async with AsyncManagedIdentityCredential(token_cache=cache) as async_credential:
        second = await async_credential.get_token(SCOPE)
    assert first == second
    assert_requests(mi_emulator, 1)


async def test_sync_credential_joins_the_async_credentials_fetch(mi_emulator: Emulator) -> None:
    """One request between them: the sync call arrives while the async one is in flight."""
    cache = MemoryTokenCache()
    mi_emulator.inject(Fault(status=200, delay=0.5))
    tokens: list[str] = []
    async with AsyncManagedIdentityCredential(token_cache=cache) as async_credential:

        async def leader() -> None:
            tokens.append((await async_credential.get_token(SCOPE)).token)

        with ManagedIdentityCredential(token_cache=cache) as sync_credential:
            async with anyio.create_task_group() as tg:
                tg.start_soon(leader)
                assert await anyio.to_thread.run_sync(mi_emulator.wait_for_requests, 1)
                follower = await anyio.to_thread.run_sync(sync_credential.get_token, SCOPE)
                tokens.append(follower.token)
    assert len(tokens) == 2
    assert tokens[0] == tokens[1]
    assert_requests(mi_emulator, 1)


def test_get_token_info_carries_refresh_on_and_type() -> None:
    with (
        Emulator(refresh_in=1200) as emu,
        patched_environ(emu.env("app_service")),
        ManagedIdentityCredential(token_cache=MemoryTokenCache()) as credential,
    ):
        info = credential.get_token_info(SCOPE)
        token = credential.get_token(STORAGE)
    assert isinstance(info, AccessTokenInfo)
    assert info.token_type == "Bearer"
    assert info.refresh_on is not None
    assert info.expires_on - info.refresh_on == 3600 - 1200
    assert token.token == info.token
    assert token.expires_on == info.expires_on
    assert_requests(emu, 1, source="app_service")


def test_user_assigned_shorthand_selects_the_identity(mi_emulator: Emulator) -> None:
    client_id = mi_emulator.user_assigned[0].client_id
    with ManagedIdentityCredential(client_id=client_id) as credential:
        credential.get_token(SCOPE)
    (request,) = assert_requests(mi_emulator, 1)
    assert request.query["client_id"] == client_id


def test_identity_and_shorthand_together_are_refused() -> None:
    with pytest.raises(ValueError, match="either identity or one of"):
        ManagedIdentityCredential(UserAssignedManagedIdentity(client_id="a"), object_id="b")
    with SyncManagedIdentityClient() as client, pytest.raises(ValueError, match="either client"):
        ManagedIdentityCredential(client=client, client_id="a")


@pytest.mark.parametrize("scopes", [(), (SCOPE, "https://vault.azure.net/.default")])
def test_exactly_one_scope(mi_emulator: Emulator, scopes: tuple[str, ...]) -> None:
    with (
        ManagedIdentityCredential() as credential,
        pytest.raises(ValueError, match=f"exactly one scope, got {len(scopes)}"),
    ):
        credential.get_token(*scopes)
    assert mi_emulator.request_count == 0


def test_claims_skip_the_cache_tenant_and_cae_are_ignored(mi_emulator: Emulator) -> None:
    with ManagedIdentityCredential() as credential:
        first = credential.get_token(SCOPE, tenant_id="other", enable_cae=True)
        again = credential.get_token_info(SCOPE, options={"enable_cae": True})
        fresh = credential.get_token(SCOPE, claims=CLAIMS)
    assert first.token == again.token != fresh.token
    assert_requests(mi_emulator, 2)
    assert "claims" not in mi_emulator.requests[1].query  # never sent to the endpoint


def test_endpoint_failure_is_a_client_authentication_error(mi_emulator: Emulator) -> None:
    mi_emulator.inject(Fault(status=400), times=1)
    with (
        ManagedIdentityCredential() as credential,
        pytest.raises(ClientAuthenticationError) as caught,
    ):
        credential.get_token(SCOPE)
    assert not isinstance(caught.value, CredentialUnavailableError)
    cause = caught.value.__cause__
    assert isinstance(cause, ManagedIdentityError)
    assert cause.status_code == 400
    assert str(cause) in str(caught.value)


async def test_unreachable_endpoint_is_credential_unavailable() -> None:
    with Emulator() as emu:
        env = emu.env("app_service")
    retry = RetryPolicy.default().without_waiting()
    client = ManagedIdentityClient(environ=env, token_cache=MemoryTokenCache(), retry_policy=retry)
    async with AsyncManagedIdentityCredential(client=client) as credential:
        with pytest.raises(CredentialUnavailableError) as caught:
            await credential.get_token(SCOPE)
    assert isinstance(caught.value.__cause__, ManagedIdentityError)
    assert caught.value.__cause__.error_code == ErrorCode.UNREACHABLE_NETWORK
    assert caught.value.__cause__.attempts == 4
    await client.aclose()


def test_timeout_is_credential_unavailable(mi_emulator: Emulator) -> None:
    mi_emulator.inject(Fault(status=200, delay=5.0), times=1)
    with (
        ManagedIdentityCredential(timeout=0.2) as credential,
        pytest.raises(CredentialUnavailableError) as caught,
    ):
        credential.get_token(SCOPE)
    assert isinstance(caught.value.__cause__, ManagedIdentityError)
    assert caught.value.__cause__.error_code == ErrorCode.REQUEST_TIMEOUT


def test_close_leaves_a_passed_client_open(mi_emulator: Emulator) -> None:
    with SyncManagedIdentityClient() as client:
        ManagedIdentityCredential(client=client).close()
        client.acquire_token(STORAGE)
    assert_requests(mi_emulator, 1)


def test_repr_names_the_identity() -> None:
    credential = ManagedIdentityCredential(client_id="abc")
    assert repr(credential) == (
        "ManagedIdentityCredential(UserAssignedManagedIdentity(client_id='abc'))"
    )
    credential.close()
