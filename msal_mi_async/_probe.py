"""An optional middleware for credential chains: is IMDS there at all?

Off a VM, IMDS requests hang until they time out, which stalls a chain of credentials
for a long time.  :func:`imds_probe` sends one short request (about 1 s, no retries)
before the first IMDS acquisition.  Any HTTP answer means IMDS is there, except Docker
Desktop's 403 whose body says "unreachable".  Success is remembered; failure is
remembered only for ``cooldown`` seconds, then the next acquisition probes again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
import attrs

from ._errors import (
    ErrorCode,
    ManagedIdentityError,
    ManagedIdentityNetworkError,
    ManagedIdentityResponseError,
)
from ._http import HttpRequest, HttpResponse
from ._kinds import ManagedIdentitySourceKind
from ._pipeline import Handler, Middleware
from ._request import TokenRequest
from ._result import AccessTokenResult
from ._single_flight import SingleFlight
from ._sources._imds import API_VERSION
from ._transport import HttpTransport

if TYPE_CHECKING:
    import httpx  # loaded on the first request, like the rest of the package

__all__ = ["ImdsProbe", "imds_probe"]


@attrs.define
class _Unavailable:
    until: float
    reason: str


class ImdsProbe:
    """Middleware: probe IMDS once before the first IMDS acquisition (see module doc)."""

    def __init__(
        self,
        *,
        timeout: float = 1.0,
        cooldown: float = 30.0,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeout = timeout
        self._cooldown = cooldown
        self._http_client = http_client
        self._clock = clock
        self._available: set[str] = set()
        self._unavailable: dict[str, _Unavailable] = {}
        self._probes: SingleFlight[bool] = SingleFlight()
        self.probes_sent = 0

    async def __call__(self, request: TokenRequest, call_next: Handler) -> AccessTokenResult:
        if request.source.kind is ManagedIdentitySourceKind.IMDS:
            await self._ensure_available(request)
        return await call_next(request)

    async def _ensure_available(self, request: TokenRequest) -> None:
        endpoint = str(getattr(request.source, "endpoint", ""))
        if endpoint in self._available:
            return
        failed = self._unavailable.get(endpoint)
        if failed is None or self._clock() >= failed.until:
            await self._probes.run(endpoint, lambda: self._probe(endpoint, request))
            failed = self._unavailable.get(endpoint)
        if failed is not None:
            raise _unavailable_error(failed.reason, request)

    async def _probe(self, endpoint: str, request: TokenRequest) -> bool:
        self.probes_sent += 1
        reason = await self._send(endpoint, request)
        if reason is None:
            self._available.add(endpoint)
            self._unavailable.pop(endpoint, None)
            return True
        self._unavailable[endpoint] = _Unavailable(self._clock() + self._cooldown, reason)
        return False

    async def _send(self, endpoint: str, request: TokenRequest) -> str | None:
        """None when IMDS answered; otherwise why it is considered unavailable."""
        probe = HttpRequest(
            "GET", endpoint, params=(("api-version", API_VERSION), ("resource", request.resource))
        )
        transport = HttpTransport(self._http_client, timeout=self._timeout)
        try:
            with anyio.move_on_after(self._timeout):
                response = await transport.send(
                    probe, correlation_id=request.correlation_id, source=request.source.kind
                )
                return _verdict(response)
            return f"no answer within {self._timeout:g} s"
        except ManagedIdentityResponseError:  # an HTTP answer (a redirect): IMDS is there
            return None
        except ManagedIdentityError as exc:
            return exc.message
        finally:
            await transport.aclose()


def _verdict(response: HttpResponse) -> str | None:
    if response.status_code == 403 and b"unreachable" in response.content.lower():
        return "a proxy answered 403 'unreachable' (Docker Desktop without IMDS)"
    return None


def imds_probe(
    *,
    timeout: float = 1.0,
    cooldown: float = 30.0,
    http_client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Middleware:
    """A middleware that fails fast when IMDS is absent (for credential chains).

    Pass it as ``middleware=[imds_probe()]``.  When the probe fails, acquisitions from
    IMDS raise ``ManagedIdentityNetworkError`` with error code
    ``managed_identity_all_sources_unavailable`` until ``cooldown`` seconds pass.
    """
    return ImdsProbe(timeout=timeout, cooldown=cooldown, http_client=http_client, clock=clock)


def _unavailable_error(reason: str, request: TokenRequest) -> ManagedIdentityNetworkError:
    return ManagedIdentityNetworkError(
        f"IMDS is not available here (the probe found: {reason}); this is not an Azure VM "
        "or the identity endpoint is blocked",
        error_code=ErrorCode.ALL_SOURCES_UNAVAILABLE,
        correlation_id=request.correlation_id,
        source=request.source.kind,
    )
