"""Heavy modules load on first use, and the public surface does not change for it."""

from __future__ import annotations

import ssl
import subprocess
import sys

import pytest

import msal_mi_async
from msal_mi_async._lazy_tls import LazyTransport
from msal_mi_async._transport import new_http_client


def test_importing_the_package_leaves_httpx_and_the_sync_facade_unloaded() -> None:
    code = (
        "import sys, msal_mi_async\n"
        "print(sorted(m for m in ('httpx', 'httpcore', 'msal_mi_async._sync',"
        " 'msal_mi_async._portal', 'msal_mi_async.emulator') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_the_sync_facade_is_exported_lazily_under_its_public_name() -> None:
    from msal_mi_async._sync import SyncManagedIdentityClient

    assert msal_mi_async.SyncManagedIdentityClient is SyncManagedIdentityClient
    assert "SyncManagedIdentityClient" in msal_mi_async.__all__
    assert "SyncManagedIdentityClient" in dir(msal_mi_async)


def test_an_unknown_attribute_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = msal_mi_async.Nope


@pytest.mark.anyio
async def test_https_gets_a_verifying_transport_built_on_first_use() -> None:
    client = new_http_client(1.0)
    try:
        mounted = [t for p, t in client._mounts.items() if p.scheme == "https"]
        assert len(mounted) == 1
        assert isinstance(mounted[0], LazyTransport)
        assert mounted[0]._inner is None  # no CA store loaded yet
        default = client._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert default.verify_mode == ssl.CERT_REQUIRED
        assert default.check_hostname
        assert default.cert_store_stats()["x509_ca"] == 0  # trusts nothing: fails closed
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_the_lazy_transport_builds_once_and_delegates() -> None:
    import httpx

    built: list[httpx.MockTransport] = []

    def factory() -> httpx.AsyncBaseTransport:
        built.append(httpx.MockTransport(lambda request: httpx.Response(204)))
        return built[-1]

    lazy = LazyTransport(factory)
    async with httpx.AsyncClient(transport=lazy) as client:
        assert built == []
        assert (await client.get("https://example.invalid/a")).status_code == 204
        assert (await client.get("https://example.invalid/b")).status_code == 204
    assert len(built) == 1
