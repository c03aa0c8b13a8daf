"""Sending a flow's HTTP requests with httpx: no proxies, no redirects, no cookies.

This is the one place where httpx exceptions become ``ManagedIdentityError``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from . import _fork
from ._errors import ErrorCode, ManagedIdentityNetworkError, ManagedIdentityResponseError
from ._http import HttpRequest, HttpResponse
from ._kinds import ManagedIdentitySourceKind

if TYPE_CHECKING:
    # httpx (~100 ms to import) and ssl are imported on first use, not with the package.
    import ssl

    import httpx

    from ._pinned_tls import PinnedClients

__all__ = ["MAX_RESPONSE_BYTES", "HttpTransport", "new_http_client"]

#: Token responses are a few KiB; anything past this is refused rather than buffered.
MAX_RESPONSE_BYTES = 1024 * 1024


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    import ssl

    return ssl.create_default_context()


@functools.cache
def _no_ca_context() -> ssl.SSLContext:
    """Verifies everything, trusts no CA: an https request sent with it fails closed."""
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # ~0.5 ms to build: built once


def new_http_client(timeout: float | None) -> httpx.AsyncClient:
    """An AsyncClient for managed-identity endpoints: env proxies ignored, redirects off."""
    import httpx

    from ._lazy_tls import LazyTransport

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=8)
    # Perf (issue 6): the endpoints are plain http, and loading the CA store costs
    # ~40-70 ms, so the verifying TLS transport is built on the first https request.
    return httpx.AsyncClient(
        trust_env=False,
        follow_redirects=False,
        timeout=timeout,
        transport=httpx.AsyncHTTPTransport(verify=_no_ca_context(), limits=limits),
        mounts={
            "https://": LazyTransport(
                lambda: httpx.AsyncHTTPTransport(verify=_ssl_context(), limits=limits)
            )
        },
    )


class HttpTransport:
    """Sends :class:`HttpRequest` values and returns :class:`HttpResponse` values."""

    def __init__(self, client: httpx.AsyncClient | None, *, timeout: float | None) -> None:
        self._client = client
        self._owns_client = client is None
        self._timeout = timeout
        # What httpx.Timeout(timeout).as_dict() gives, without importing httpx here.
        self._timeout_extension = dict.fromkeys(("connect", "read", "write", "pool"), timeout)
        self._pinned: PinnedClients | None = None  # Service Fabric only: built on first use
        _fork.track(self)

    def _after_fork_in_child(self) -> None:
        # Our pools' connections and loop belong to the parent: start new ones lazily.
        if self._owns_client:
            self._client = None
        self._pinned = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = new_http_client(self._timeout)
        return self._client

    async def aclose(self) -> None:
        if self._pinned is not None:
            await self._pinned.aclose()
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _client_for(self, request: HttpRequest) -> httpx.AsyncClient:
        """Certificate-pinned requests get their own client (ours even if one was given)."""
        if request.tls_thumbprint is None:
            return self.client
        if self._pinned is None:
            from ._pinned_tls import PinnedClients  # imports httpcore: lazy like httpx

            self._pinned = PinnedClients(self._timeout)
        return self._pinned.get(request.url, request.tls_thumbprint)

    async def send(
        self, request: HttpRequest, *, correlation_id: str, source: ManagedIdentitySourceKind
    ) -> HttpResponse:
        """Send one request; transport failures raise ``ManagedIdentityNetworkError``."""
        import httpx  # lazy (see the top); a dict lookup once imported

        outgoing = self._build(request, correlation_id)
        try:
            client = self._client_for(request)
            response = await client.send(outgoing, stream=True, follow_redirects=False)
            try:
                content = await _read_capped(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise _network_error(exc, ErrorCode.REQUEST_TIMEOUT, correlation_id, source) from exc
        except httpx.HTTPError as exc:
            # A pinned-certificate mismatch (Service Fabric) will not heal on a retry.
            mismatch = getattr(exc.__cause__, "certificate_mismatch", False)
            code = ErrorCode.CERTIFICATE_MISMATCH if mismatch else ErrorCode.UNREACHABLE_NETWORK
            raise _network_error(exc, code, correlation_id, source) from exc
        if response.is_redirect:
            raise _redirect_refused(response, correlation_id, source)
        return HttpResponse(response.status_code, response.headers, content)

    def _build(self, request: HttpRequest, correlation_id: str) -> httpx.Request:
        # Built directly, not with client.build_request: a caller-owned client's cookies
        # and default headers must not reach a managed-identity endpoint.
        import httpx

        headers = [*request.headers, ("x-ms-client-request-id", correlation_id)]
        return httpx.Request(
            request.method,
            request.url,
            params=request.params,
            headers=headers,
            data=dict(request.form) if request.form is not None else None,
            extensions={"timeout": self._timeout_extension},
        )


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ManagedIdentityResponseError(
                f"The endpoint sent a response body larger than {MAX_RESPONSE_BYTES} bytes",
                error_code=ErrorCode.RESPONSE_PARSE_FAILURE,
                status_code=response.status_code,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _network_error(
    exc: httpx.HTTPError, code: str, correlation_id: str, source: ManagedIdentitySourceKind
) -> ManagedIdentityNetworkError:
    what = "did not answer in time" if code == ErrorCode.REQUEST_TIMEOUT else "could not be reached"
    detail = str(exc)[:200] or type(exc).__name__
    return ManagedIdentityNetworkError(
        f"The {source.value} managed identity endpoint {what}: {type(exc).__name__}: {detail}",
        error_code=code,
        correlation_id=correlation_id,
        source=source,
    )


def _redirect_refused(
    response: httpx.Response, correlation_id: str, source: ManagedIdentitySourceKind
) -> ManagedIdentityResponseError:
    location = response.headers.get("location", "")
    try:
        host = urlsplit(location).hostname or "(the same host)"
    except ValueError:
        host = "(an unparseable location)"
    return ManagedIdentityResponseError(
        f"The {source.value} managed identity endpoint answered HTTP {response.status_code}, "
        f"a redirect to {host[:100]!r}; redirects are never followed for managed identity "
        "requests (the request carries secrets)",
        error_code=ErrorCode.REQUEST_FAILED,
        status_code=response.status_code,
        correlation_id=correlation_id,
        source=source,
    )
