"""The FastAPI recipe under a real uvicorn server on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from examples.fastapi_app import create_app
from msal_mi_async.emulator import Emulator
from msal_mi_async.testing import assert_requests

from .loopback import Target, running_target
from .servers import serving

pytestmark = pytest.mark.anyio
RESOURCE = "https://management.azure.com"


@pytest.fixture
def target() -> Iterator[Target]:
    with running_target() as target:
        yield target


@pytest.fixture
def app_url(mi_emulator: Emulator, target: Target) -> Iterator[str]:
    with serving(create_app(target.url, RESOURCE)) as url:
        yield url


async def test_routes_use_one_client_and_never_show_the_token(
    app_url: str,
    target: Target,
    mi_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(base_url=app_url) as http:
        first = await http.get("/token-status")
        second = await http.get("/token-status")
        relayed = await http.get("/downstream")
    assert first.status_code == second.status_code == relayed.status_code == 200
    assert first.json()["token_source"] == "identity_provider"
    assert second.json()["token_source"] == "cache"
    assert first.json()["managed_identity_source"] == "imds"
    assert relayed.json() == {"status": 200, "body": {"ok": True}}
    assert_requests(mi_emulator, 1, resource=RESOURCE)  # one client for the app's lifetime
    (token,) = set(target.tokens)
    for response in (first, second, relayed):
        assert token not in response.text
    assert token not in caplog.text
    assert "GET /downstream" in caplog.text  # the access log was captured


async def test_downstream_claims_challenge_is_answered(
    app_url: str, target: Target, mi_emulator: Emulator
) -> None:
    target.challenge_next()
    async with httpx.AsyncClient(base_url=app_url) as http:
        relayed = await http.get("/downstream")
    assert relayed.json() == {"status": 200, "body": {"ok": True}}
    assert_requests(mi_emulator, 2, resource=RESOURCE)
    first, retried = target.tokens
    assert first != retried
