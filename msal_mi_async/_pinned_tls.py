"""httpx clients that trust exactly one server certificate, by SHA-1 thumbprint (§4).

The check runs in the network backend's ``start_tls``: httpcore has not written a byte
of the request yet, so a server with another certificate never sees the secret header.
No CA validation, no proxies (none configured, ``trust_env=False``), no redirects.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import typing
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

from ._errors import ErrorCode, ManagedIdentityConfigurationError

if typing.TYPE_CHECKING:
    from httpcore._backends.base import SOCKET_OPTION

__all__ = ["CertificateMismatch", "PinnedClients", "pinned_client"]


def _no_ca_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the thumbprint pin replaces CA validation
    return context


class _PinnedStream(httpcore.AsyncNetworkStream):
    """Delegates to the real stream; ``start_tls`` refuses any other certificate."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, thumbprint: str) -> None:
        self._inner = inner
        self._thumbprint = thumbprint

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        try:
            _check_peer(stream, self._thumbprint)
        except BaseException:
            await stream.aclose()
            raise
        return stream


class CertificateMismatch(httpcore.ConnectError):
    """The server's certificate is not the pinned one (not worth retrying)."""

    certificate_mismatch = True


def _check_peer(stream: httpcore.AsyncNetworkStream, thumbprint: str) -> None:
    ssl_object = stream.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    seen = hashlib.sha1(der, usedforsecurity=False).hexdigest() if der else ""
    if not hmac.compare_digest(seen.encode(), thumbprint.encode()):
        raise CertificateMismatch(
            "the server's TLS certificate does not match IDENTITY_SERVER_THUMBPRINT; "
            "nothing was sent"
        )


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend (asyncio or trio), with pinned TLS streams."""

    def __init__(self, thumbprint: str) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._thumbprint = thumbprint

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _PinnedStream(stream, self._thumbprint)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for pinned TLS")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over an httpcore pool whose TLS streams are pinned."""

    def __init__(self, thumbprint: str) -> None:
        context = _no_ca_context()
        super().__init__(verify=context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=8,
            max_keepalive_connections=2,
            network_backend=_PinnedBackend(thumbprint),
        )


def pinned_client(thumbprint: str, timeout: float | None) -> httpx.AsyncClient:
    """An AsyncClient that talks only https, only to a server with this certificate."""
    return httpx.AsyncClient(
        transport=_PinnedTransport(thumbprint),
        trust_env=False,
        follow_redirects=False,
        timeout=timeout,
    )


class PinnedClients:
    """One pinned client per thumbprint, created on first use and closed together."""

    def __init__(self, timeout: float | None) -> None:
        self._timeout = timeout
        self._clients: dict[str, httpx.AsyncClient] = {}

    def get(self, url: str, thumbprint: str) -> httpx.AsyncClient:
        """The client for ``thumbprint``; refuses a URL that is not https."""
        if urlsplit(url).scheme != "https":
            raise ManagedIdentityConfigurationError(
                "A certificate-pinned request must use https; refusing to send it",
                error_code=ErrorCode.INVALID_ENDPOINT,
            )
        client = self._clients.get(thumbprint)
        if client is None:
            client = self._clients[thumbprint] = pinned_client(thumbprint, self._timeout)
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
