"""Driving a source's flow over HTTP, and normalizing its final response."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

from ._errors import ErrorCode, ManagedIdentityConfigurationError, ManagedIdentityNetworkError
from ._http import HttpRequest, HttpResponse, ReadKeyFile
from ._kinds import TokenSource
from ._request import TokenRequest
from ._result import AccessTokenResult
from ._transport import HttpTransport

__all__ = ["FetchHandler", "HttpFetch", "KeyFileReader", "normalizer"]

FetchHandler = Callable[[TokenRequest], Awaitable[HttpResponse]]
KeyFileReader = Callable[[ReadKeyFile], Awaitable[str]]


async def _no_key_files(read: ReadKeyFile) -> str:
    raise ManagedIdentityConfigurationError(
        "This client cannot read Azure Arc key files", error_code=ErrorCode.REQUEST_FAILED
    )


class HttpFetch:
    """Run ``request.source.flow`` to completion within the acquisition's time budget."""

    def __init__(
        self,
        transport: HttpTransport,
        *,
        timeout: float | None,
        read_key_file: KeyFileReader = _no_key_files,
    ) -> None:
        self._transport = transport
        self._timeout = timeout
        self._read_key_file = read_key_file

    async def __call__(self, request: TokenRequest) -> HttpResponse:
        if self._timeout is None:
            return await self._drive(request)
        try:
            with anyio.fail_after(self._timeout):
                return await self._drive(request)
        except TimeoutError as exc:
            raise ManagedIdentityNetworkError(
                f"No token within the {self._timeout:g} s budget for one acquisition",
                error_code=ErrorCode.REQUEST_TIMEOUT,
                correlation_id=request.correlation_id,
                source=request.source.kind,
            ) from exc

    async def _drive(self, request: TokenRequest) -> HttpResponse:
        flow = request.source.flow(request)
        try:
            step = next(flow)
            while True:
                reply = await self._perform(step, request)
                step = flow.send(reply)
        except StopIteration as done:
            final: HttpResponse = done.value
            return final
        finally:
            flow.close()

    async def _perform(
        self, step: HttpRequest | ReadKeyFile, request: TokenRequest
    ) -> HttpResponse | str:
        if isinstance(step, ReadKeyFile):
            return await self._read_key_file(step)
        return await self._transport.send(
            step, correlation_id=request.correlation_id, source=request.source.kind
        )


def normalizer(
    fetch: FetchHandler, clock: Callable[[], float] = time.time
) -> Callable[[TokenRequest], Awaitable[AccessTokenResult]]:
    """The pipeline's endpoint: fetch, then turn the final response into a result."""

    async def normalize(request: TokenRequest) -> AccessTokenResult:
        response = await fetch(request)
        fields = request.source.parse_response(response, request, clock())
        return AccessTokenResult(
            access_token=fields.access_token,
            token_type=fields.token_type,
            expires_on=fields.expires_on,
            refresh_on=fields.refresh_on,
            resource=request.resource,
            token_source=TokenSource.IDENTITY_PROVIDER,
            managed_identity_source=request.source.kind,
            correlation_id=request.correlation_id,
        )

    return normalize
