"""Managed-identity endpoints are local: environment proxies are ignored."""

from __future__ import annotations

import pytest

from msal_mi_async import (
    ManagedIdentityClient,
    MemoryTokenCache,
    Platform,
    RetryPolicy,
    SyncManagedIdentityClient,
)
from msal_mi_async.emulator import Emulator

ARM = "https://management.azure.com"
LINUX = Platform(system="linux", file_exists=lambda path: False)
DEAD_PROXY = "http://127.0.0.1:9"  # discard port: nothing listens there
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy")


@pytest.fixture
def dead_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, DEAD_PROXY)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["imds", "app_service"])
async def test_environment_proxies_are_ignored(dead_proxy: None, kind: str) -> None:
    with Emulator() as emu:
        client = ManagedIdentityClient(
            environ=emu.env(kind),
            token_cache=MemoryTokenCache(),
            platform=LINUX,
            retry_policy=RetryPolicy.none(),
        )
        async with client:
            result = await client.acquire_token(ARM)
        assert result.resource == ARM
        assert emu.request_count == 1


def test_environment_proxies_are_ignored_by_the_sync_facade(dead_proxy: None) -> None:
    with (
        Emulator() as emu,
        SyncManagedIdentityClient(
            environ=emu.env("imds"),
            token_cache=MemoryTokenCache(),
            platform=LINUX,
            retry_policy=RetryPolicy.none(),
        ) as client,
    ):
        assert client.acquire_token(ARM).resource == ARM
        assert emu.request_count == 1
