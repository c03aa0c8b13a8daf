"""msal_mi_async.testing: point code under test at the emulator, restore everything after."""

from __future__ import annotations

import os

import pytest

from msal_mi_async import (
    ManagedIdentityClient,
    ManagedIdentitySourceKind,
    MemoryTokenCache,
    Platform,
)
from msal_mi_async.testing import emulated_environment, patched_environ

LINUX = Platform(system="linux", file_exists=lambda path: False)


def test_patched_environ_clears_sets_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSI_ENDPOINT", "http://before")
    monkeypatch.delenv("IDENTITY_HEADER", raising=False)
    with patched_environ({"IDENTITY_HEADER": "h"}):
        assert "MSI_ENDPOINT" not in os.environ
        assert os.environ["IDENTITY_HEADER"] == "h"
    assert os.environ["MSI_ENDPOINT"] == "http://before"
    assert "IDENTITY_HEADER" not in os.environ


def test_patched_environ_restores_after_an_exception() -> None:
    with pytest.raises(RuntimeError), patched_environ({"MSI_SECRET": "s"}):
        raise RuntimeError
    assert "MSI_SECRET" not in os.environ


@pytest.mark.anyio
@pytest.mark.parametrize(
    "kind", [ManagedIdentitySourceKind.IMDS, ManagedIdentitySourceKind.APP_SERVICE]
)
async def test_emulated_environment_serves_clients_that_read_os_environ(
    kind: ManagedIdentitySourceKind,
) -> None:
    client = ManagedIdentityClient(token_cache=MemoryTokenCache(), platform=LINUX)
    with emulated_environment(kind) as emu:
        assert await client.get_managed_identity_source() is kind
        result = await client.acquire_token("https://vault.azure.net")
        assert emu.request_count == 1
        assert emu.requests[0].query["resource"] == "https://vault.azure.net"
    assert result.managed_identity_source is kind
    assert await client.get_managed_identity_source() is ManagedIdentitySourceKind.IMDS
    assert "AZURE_POD_IDENTITY_AUTHORITY_HOST" not in os.environ
    await client.aclose()
