"""Driving a source's flow over HTTP, and normalizing its final response."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Awaitable, Callable

import anyio

from ._errors import (
    ErrorCode,
    ManagedIdentityConfigurationError,
    ManagedIdentityError,
    ManagedIdentityNetworkError,
)
from ._http import HttpRequest, HttpResponse, ReadKeyFile
from ._kinds import ManagedIdentitySourceKind, TokenSource
from ._request import TokenRequest
from ._result import AccessTokenResult
from ._retry import RetryPolicy
from ._transport import HttpTransport

__all__ = ["FetchHandler", "HttpFetch", "KeyFileReader", "Sleep", "normalizer"]

FetchHandler = Callable[[TokenRequest], Awaitable[HttpResponse]]
KeyFileReader = Callable[[ReadKeyFile], Awaitable[str]]


async def _no_key_files(read: ReadKeyFile) -> str:
    raise ManagedIdentityConfigurationError(
        "This client cannot read Azure Arc key files", error_code=ErrorCode.REQUEST_FAILED
    )


Sleep = Callable[[float], Awaitable[None]]
Failure = HttpResponse | ManagedIdentityNetworkError


class HttpFetch:
    """Run ``request.source.flow`` to completion, retrying each HTTP attempt per policy.

    Each attempt is bounded by ``attempt_timeout``; retries follow ``retry_policy`` (None:
    the source's default) but never wait past the request's own ``timeout`` budget.
    The acquisition's total deadline itself is enforced by the client around the pipeline.
    """

    def __init__(
        self,
        transport: HttpTransport,
        *,
        attempt_timeout: float | None = None,
        retry_policy: RetryPolicy | None = None,
        read_key_file: KeyFileReader | None = None,
        sleep: Sleep = anyio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._transport = transport
        self._attempt_timeout = attempt_timeout
        self._retry_policy = retry_policy
        self._read_key_file = read_key_file or _no_key_files
        self._sleep = sleep
        self._monotonic = monotonic
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets

    async def __call__(self, request: TokenRequest) -> HttpResponse:
        if request.attempts.started is None:
            request.attempts.started = self._monotonic()
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

    def policy_for(self, request: TokenRequest) -> RetryPolicy:
        policy = self._retry_policy
        return _default_policy(request.source.kind) if policy is None else policy

    async def _perform(
        self, step: HttpRequest | ReadKeyFile, request: TokenRequest
    ) -> HttpResponse | str:
        if isinstance(step, ReadKeyFile):
            return await self._read_key_file(step)
        return await self._send_with_retries(step, request)

    async def _send_with_retries(self, step: HttpRequest, request: TokenRequest) -> HttpResponse:
        policy = self.policy_for(request)
        made, first_status = 0, None
        while True:
            outcome = await self._attempt(step, request)
            made += 1
            if isinstance(outcome, HttpResponse) and outcome.status_code < 400:
                return outcome  # success (or a redirect refused downstream): never retried
            if made == 1 and isinstance(outcome, HttpResponse):
                first_status = outcome.status_code
            wait = self._decide(policy, outcome, made, first_status, request)
            if wait is None:
                if isinstance(outcome, ManagedIdentityNetworkError):
                    raise outcome
                return outcome
            await self._sleep(wait)

    def _decide(
        self,
        policy: RetryPolicy,
        outcome: Failure,
        made: int,
        first_status: int | None,
        request: TokenRequest,
    ) -> float | None:
        elapsed = self.elapsed(request)
        wait = policy.next_wait(
            outcome,
            attempts_made=made,
            first_status=first_status,
            elapsed=elapsed,
            now=self._clock(),
            rng=self._rng,
        )
        if wait is None or request.timeout is None:
            return wait
        return wait if elapsed + wait < request.timeout else None  # the deadline wins

    async def _attempt(self, step: HttpRequest, request: TokenRequest) -> Failure:
        request.attempts.attempts += 1
        kind = request.source.kind
        try:
            with anyio.move_on_after(self._attempt_timeout) as scope:
                return await self._transport.send(
                    step, correlation_id=request.correlation_id, source=kind
                )
        except ManagedIdentityNetworkError as exc:
            return exc
        assert scope.cancelled_caught
        return ManagedIdentityNetworkError(
            f"The {kind.value} managed identity endpoint did not answer within the "
            f"{self._attempt_timeout:g} s allowed for one attempt",
            error_code=ErrorCode.REQUEST_TIMEOUT,
            correlation_id=request.correlation_id,
            source=kind,
        )

    def elapsed(self, request: TokenRequest) -> float:
        started = request.attempts.started
        return 0.0 if started is None else max(0.0, self._monotonic() - started)

    def annotate(self, error: ManagedIdentityError, request: TokenRequest) -> None:
        """Record on ``error`` how many attempts were made and how long it took (once)."""
        if error.attempts is None and request.attempts.started is not None:
            error.attempts = request.attempts.attempts
            error.elapsed = self.elapsed(request)


@functools.cache
def _default_policy(kind: ManagedIdentitySourceKind) -> RetryPolicy:
    """The per-source default, built once (the policy is a frozen value)."""
    return RetryPolicy.for_source(kind)


def normalizer(
    fetch: HttpFetch, clock: Callable[[], float] = time.time
) -> Callable[[TokenRequest], Awaitable[AccessTokenResult]]:
    """The pipeline's endpoint: fetch, then turn the final response into a result.

    A failure carries the number of HTTP attempts made and the time taken.
    """

    async def normalize(request: TokenRequest) -> AccessTokenResult:
        try:
            response = await fetch(request)
            fields = request.source.parse_response(response, request, clock())
        except ManagedIdentityError as exc:
            fetch.annotate(exc, request)
            raise
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
