"""ManagedIdentityAuth with real httpx clients against a loopback API and the emulator."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from msal_mi_async import (
    ManagedIdentityAuth,
    ManagedIdentityClient,
    MemoryTokenCache,
    SyncManagedIdentityClient,
)
from msal_mi_async._challenge import claims_from_challenge
from msal_mi_async.emulator import Emulator
from msal_mi_async.testing import assert_requests

from .loopback import CHALLENGE, CLAIMS, Target, running_target

pytestmark = pytest.mark.anyio
RESOURCE = "https://management.azure.com"


@pytest.fixture
def target() -> Iterator[Target]:
    with running_target() as target:
        yield target


@pytest.fixture
def sync_client() -> Iterator[SyncManagedIdentityClient]:
    with SyncManagedIdentityClient(token_cache=MemoryTokenCache()) as client:
        yield client


def test_sync_requests_carry_one_cached_bearer_token(
    mi_emulator: Emulator, target: Target, sync_client: SyncManagedIdentityClient
) -> None:
    auth = ManagedIdentityAuth(f"{RESOURCE}/.default", client=sync_client)
    with httpx.Client(auth=auth) as http:
        statuses = [http.get(target.url).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert all(a is not None and a.startswith("Bearer ey") for a in target.authorizations)
    assert len(set(target.authorizations)) == 1
    assert_requests(mi_emulator, 1, resource=RESOURCE)


def test_sync_claims_challenge_is_retried_once_with_a_fresh_token(
    mi_emulator: Emulator, target: Target, sync_client: SyncManagedIdentityClient
) -> None:
    target.challenge_next()
    with httpx.Client(auth=ManagedIdentityAuth(RESOURCE, client=sync_client)) as http:
        response = http.post(target.url, content=b"payload")
        after = http.get(target.url)
    assert response.status_code == after.status_code == 200
    first, retried, later = target.tokens
    assert first != retried == later  # the fresh token replaced the cached one
    assert_requests(mi_emulator, 2, resource=RESOURCE)


def test_sync_second_challenge_is_returned_not_retried(
    mi_emulator: Emulator, target: Target, sync_client: SyncManagedIdentityClient
) -> None:
    target.challenge_next(times=2)
    with httpx.Client(auth=ManagedIdentityAuth(RESOURCE, client=sync_client)) as http:
        response = http.get(target.url)
    assert response.status_code == 401
    assert len(target.authorizations) == 2
    assert_requests(mi_emulator, 2)


def test_sync_401_without_claims_is_not_retried(
    mi_emulator: Emulator, target: Target, sync_client: SyncManagedIdentityClient
) -> None:
    target.script.append((401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}))
    with httpx.Client(auth=ManagedIdentityAuth(RESOURCE, client=sync_client)) as http:
        assert http.get(target.url).status_code == 401
    assert len(target.authorizations) == 1
    assert_requests(mi_emulator, 1)


async def test_async_requests_and_claims_challenge(mi_emulator: Emulator, target: Target) -> None:
    target.challenge_next()
    async with ManagedIdentityClient(token_cache=MemoryTokenCache()) as client:
        auth = ManagedIdentityAuth(RESOURCE, client=client)
        async with httpx.AsyncClient(auth=auth) as http:
            statuses = [(await http.get(target.url)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    first, *rest = target.tokens
    assert len(rest) == 3
    assert len({first, *rest}) == 2
    assert first not in rest
    assert_requests(mi_emulator, 2, resource=RESOURCE)


def test_sync_httpx_needs_the_sync_client(target: Target) -> None:
    auth = ManagedIdentityAuth(RESOURCE, client=ManagedIdentityClient())
    with httpx.Client(auth=auth) as http, pytest.raises(TypeError, match=r"^httpx\.Client needs"):
        http.get(target.url)
    assert target.authorizations == []


async def test_async_httpx_needs_the_async_client(
    target: Target, sync_client: SyncManagedIdentityClient
) -> None:
    auth = ManagedIdentityAuth(RESOURCE, client=sync_client)
    async with httpx.AsyncClient(auth=auth) as http:
        with pytest.raises(TypeError, match=r"^httpx\.AsyncClient needs"):
            await http.get(target.url)
    assert target.authorizations == []


def _b64(text: str, *, urlsafe: bool = False, pad: bool = True) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    encoded = encode(text.encode()).decode()
    return encoded if pad else encoded.rstrip("=")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (CHALLENGE, CLAIMS),
        (f'Bearer error="insufficient_claims", claims="{_b64(CLAIMS, pad=False)}"', CLAIMS),
        (f'bearer claims="{_b64(CLAIMS, urlsafe=True)}", error=insufficient_claims', CLAIMS),
        (None, None),
        ("", None),
        (f'Basic error="insufficient_claims", claims="{_b64(CLAIMS)}"', None),
        (f'Bearer error="invalid_token", claims="{_b64(CLAIMS)}"', None),
        ('Bearer error="insufficient_claims"', None),
        ('Bearer error="insufficient_claims", claims="!!!"', None),
        (f'Bearer error="insufficient_claims", claims="{_b64("not json")}"', None),
    ],
)
def test_claims_from_challenge(header: str | None, expected: str | None) -> None:
    assert claims_from_challenge(header) == expected


def test_repr_and_resource_validation(sync_client: SyncManagedIdentityClient) -> None:
    auth = ManagedIdentityAuth(f"{RESOURCE}/.default", client=sync_client)
    assert auth.resource == RESOURCE
    assert repr(auth).startswith(f"ManagedIdentityAuth('{RESOURCE}', client=")
    with pytest.raises(ValueError, match=r"several scopes"):
        ManagedIdentityAuth("a b", client=sync_client)
