"""Small tools for unit tests: a recording MockTransport and a controllable clock."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel
import httpx

NOW = 1_800_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def token_body(
    token: str = "tok-1", *, expires_in: int = 3600, now: float = NOW, **extra: object
) -> bytes:
    body: dict[str, object] = {
        "access_token": token,
        "expires_on": str(int(now) + expires_in),
        "resource": "https://management.azure.com",
        "token_type": "Bearer",
        **extra,
    }
    return json.dumps(body).encode()


Responder = Callable[[httpx.Request], Awaitable[httpx.Response]]


class Recorder:
    """An async MockTransport handler that records requests and answers from a script.

    ``gate``, when set, holds every response until the test opens it, so concurrent
    callers provably overlap.
    """

    def __init__(
        self, *responses: httpx.Response | Exception, gate: anyio.Event | None = None
    ) -> None:
        self.requests: list[httpx.Request] = []
        self._responses = list(responses)
        self.gate = gate

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        answer = self._responses.pop(0) if len(self._responses) > 1 else self._responses[0]
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def ok(
    token: str = "tok-1", *, expires_in: int = 3600, now: float = NOW, **extra: object
) -> httpx.Response:
    return httpx.Response(200, content=token_body(token, expires_in=expires_in, now=now, **extra))


class FakeTime:
    """A monotonic clock plus a sleep that advances it instantly and records each wait.

    ``sleep`` still yields to the event loop (a checkpoint), so cancellation reaches
    callers that are "waiting" between retries.
    """

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await anyio.lowlevel.checkpoint()
