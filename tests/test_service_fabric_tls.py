"""Service Fabric's certificate pin, against the emulator's real TLS port.

A wrong thumbprint must fail after the handshake and before httpcore writes a single
request byte: the emulator counts the bytes it read on that port.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping

import attrs
import httpx
import pytest

from msal_mi_async import (
    ErrorCode,
    HttpRequest,
    ManagedIdentityClient,
    ManagedIdentityConfigurationError,
    ManagedIdentityNetworkError,
    ManagedIdentityResponseError,
    ManagedIdentitySourceKind,
    MemoryTokenCache,
    Platform,
    ServiceFabricSource,
    SyncManagedIdentityClient,
)
from msal_mi_async._http import Flow
from msal_mi_async._pinned_tls import PinnedClients
from msal_mi_async._request import TokenRequest
from msal_mi_async.emulator import Emulator, Fault, _certs

from .helpers import Recorder, ok

Kind = ManagedIdentitySourceKind
ARM = "https://management.azure.com"
SECRET = "service-fabric-secret-header"
WRONG = "00" * 20


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(identity_header=SECRET) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def fresh(emu: Emulator) -> None:
    emu.reset()


def env_with(emu: Emulator, **changes: str) -> dict[str, str]:
    return {**emu.env(Kind.SERVICE_FABRIC), **changes}


def tls_counts(emu: Emulator) -> tuple[int, int]:
    stats = emu.service_fabric_tls_stats
    assert stats is not None
    return stats.handshakes, stats.bytes_received


def test_emulator_exposes_thumbprint_in_env(emu: Emulator) -> None:
    env = emu.env(Kind.SERVICE_FABRIC)
    assert env["IDENTITY_SERVER_THUMBPRINT"] == emu.service_fabric_thumbprint
    assert env["IDENTITY_ENDPOINT"].startswith(emu.service_fabric_url + "/")
    assert emu.service_fabric_url.startswith("https://127.0.0.1:")
    assert len(emu.service_fabric_thumbprint) == 40


@pytest.mark.anyio
async def test_wrong_thumbprint_sends_nothing(emu: Emulator) -> None:
    handshakes, received = tls_counts(emu)
    env = env_with(emu, IDENTITY_SERVER_THUMBPRINT=WRONG)
    async with ManagedIdentityClient(environ=env, token_cache=MemoryTokenCache()) as client:
        with pytest.raises(ManagedIdentityNetworkError) as info:
            await client.acquire_token(ARM)
    assert info.value.error_code == ErrorCode.CERTIFICATE_MISMATCH
    assert info.value.attempts == 1  # a wrong certificate is not retried
    assert "IDENTITY_SERVER_THUMBPRINT" in str(info.value)
    assert SECRET not in str(info.value)
    stats = emu.service_fabric_tls_stats
    assert stats is not None
    assert stats.wait_for_handshakes(handshakes + 1, timeout=10)  # the server was reached
    assert tls_counts(emu) == (handshakes + 1, received)  # ...and read zero request bytes
    assert emu.request_count == 0


@pytest.mark.anyio
async def test_right_thumbprint_in_any_spelling_is_accepted(emu: Emulator) -> None:
    spaced = ":".join(emu.service_fabric_thumbprint[i : i + 2] for i in range(0, 40, 2))
    env = env_with(emu, IDENTITY_SERVER_THUMBPRINT=spaced.upper())
    _, received = tls_counts(emu)
    async with ManagedIdentityClient(environ=env, token_cache=MemoryTokenCache()) as client:
        result = await client.acquire_token(ARM)
    assert result.managed_identity_source is Kind.SERVICE_FABRIC
    assert emu.requests[0].headers["secret"] == SECRET
    assert tls_counts(emu)[1] > received


def test_wrong_thumbprint_through_the_sync_facade(emu: Emulator) -> None:
    env = env_with(emu, IDENTITY_SERVER_THUMBPRINT=WRONG)
    client = SyncManagedIdentityClient(environ=env, token_cache=MemoryTokenCache())
    with client, pytest.raises(ManagedIdentityNetworkError):
        client.acquire_token(ARM)
    assert emu.request_count == 0


@pytest.mark.anyio
async def test_no_proxy_and_never_the_callers_client(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    caller = Recorder(ok())  # would answer anything, unpinned
    client = ManagedIdentityClient(
        environ=emu.env(Kind.SERVICE_FABRIC),
        http_client=caller.client(),
        token_cache=MemoryTokenCache(),
    )
    async with client:
        await client.acquire_token(ARM)
    assert caller.requests == []
    assert emu.request_count == 1


@pytest.mark.anyio
async def test_redirects_are_not_followed(emu: Emulator) -> None:
    emu.inject(Fault(status=307, body=b"{}", headers={"Location": "https://example.com/"}))
    env = emu.env(Kind.SERVICE_FABRIC)
    async with ManagedIdentityClient(environ=env, token_cache=MemoryTokenCache()) as client:
        with pytest.raises(ManagedIdentityResponseError) as info:
            await client.acquire_token(ARM)
    assert info.value.status_code == 307
    assert emu.request_count == 1


@attrs.frozen
class PlainPinned(ServiceFabricSource):
    """A (misguided) custom source asking for a pin over plain http."""

    def flow(self, request: TokenRequest) -> Flow:
        step = next(super().flow(request))
        assert isinstance(step, HttpRequest)
        response = yield attrs.evolve(step, url="http://127.0.0.1:9/token")
        return response  # type: ignore[no-any-return]

    @classmethod
    def from_environment(cls, env: Mapping[str, str], platform: Platform) -> PlainPinned:
        return cls("https://127.0.0.1:9/token", "plain-secret", WRONG)


@pytest.mark.anyio
async def test_a_pinned_request_over_http_is_refused_before_sending() -> None:
    client = ManagedIdentityClient(sources=[PlainPinned], token_cache=MemoryTokenCache())
    async with client:
        with pytest.raises(ManagedIdentityConfigurationError) as info:
            await client.acquire_token(ARM)
    assert info.value.error_code == ErrorCode.INVALID_ENDPOINT


def test_plain_port_does_not_serve_service_fabric(emu: Emulator) -> None:
    path = emu.env(Kind.SERVICE_FABRIC)["IDENTITY_ENDPOINT"].split("/", 3)[3]
    with httpx.Client(trust_env=False) as plain:
        response = plain.get(f"{emu.url}/{path}", headers={"secret": SECRET})
    assert response.status_code == 404


@pytest.mark.anyio
async def test_pinned_clients_are_per_thumbprint_and_closed_together() -> None:
    clients = PinnedClients(timeout=5)
    first = clients.get("https://127.0.0.1:1/t", WRONG)
    assert clients.get("https://127.0.0.1:2/other", WRONG) is first
    second = clients.get("https://127.0.0.1:1/t", "11" * 20)
    assert second is not first
    await clients.aclose()
    assert first.is_closed
    assert second.is_closed


def _no_cryptography() -> _certs.ServerCertificate:
    raise ImportError("cryptography")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_makes_the_certificate_without_cryptography(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_certs, "_with_cryptography", _no_cryptography)
    certificate = _certs.make_certificate()
    assert len(certificate.thumbprint) == 40
    certificate.server_context()  # loads


def test_without_any_certificate_maker_only_service_fabric_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_certs, "_with_cryptography", _no_cryptography)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with Emulator() as emu:
        with pytest.raises(_certs.CertificateUnavailable, match="cryptography"):
            emu.env(Kind.SERVICE_FABRIC)
        assert emu.env(Kind.CLOUD_SHELL)["MSI_ENDPOINT"].startswith(emu.url)
