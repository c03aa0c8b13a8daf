"""Fault injection: what the next token requests get instead of a normal answer."""

from __future__ import annotations

import collections
import http
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType

import attrs

from ._wire import Answer

__all__ = ["ErrorMaker", "Fault", "FaultQueue"]

ErrorMaker = Callable[[int, str, str], Answer]
"""Builds an error answer in one source's shape from (status, code, message)."""

_BAD_BODY = b"<html><body>502 Bad Gateway (emulated; not JSON)</body></html>"


def _frozen_headers(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _error_code(status: int) -> str:
    if status >= 500:
        return "temporarily_unavailable" if status in (503, 504) else "server_error"
    return {401: "unauthorized_client", 403: "access_denied", 429: "too_many_requests"}.get(
        status, "invalid_request"
    )


def _check_status(_: Fault, __: attrs.Attribute[int], value: int) -> None:
    if not 100 <= value <= 599:
        raise ValueError(f"status must be an HTTP status code, got {value}")


def _check_delay(_: Fault, __: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"delay must be >= 0, got {value}")


@attrs.frozen
class Fault:
    """A scripted misbehaviour for one token request; applied before any validation.

    - ``status`` with ``body=None``: an error in the answering source's own shape;
      an explicit ``body`` is sent as is (JSON content type), e.g. a custom token body.
    - ``headers`` / ``retry_after``: extra response headers (``Retry-After`` for the latter).
    - ``delay``: seconds the server waits before answering (cut short by ``stop()``).
    - ``drop_connection``: close the socket without any response.
    - ``bad_body``: a 200 whose body is not JSON.
    - ``status=200`` with no body: the normal answer, after ``delay`` and with ``headers``.
    """

    status: int = attrs.field(default=500, validator=_check_status)
    body: bytes | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_headers, hash=False)
    retry_after: str | None = None
    delay: float = attrs.field(default=0.0, validator=_check_delay)
    drop_connection: bool = False
    bad_body: bool = False

    def response_headers(self) -> tuple[tuple[str, str], ...]:
        """The extra headers to send, ``Retry-After`` included."""
        extra = tuple(self.headers.items())
        if self.retry_after is not None:
            extra += (("Retry-After", self.retry_after),)
        return extra

    def answer(self, error: ErrorMaker) -> Answer | None:
        """The answer this fault forces, or None to pass through (after ``delay``)."""
        if self.drop_connection:
            return Answer(0, delay=self.delay, drop=True)
        extra = self.response_headers()
        if self.bad_body:
            body = _BAD_BODY if self.body is None else self.body
            return Answer(200, body, extra, "text/html; charset=utf-8", self.delay)
        if self.body is not None:
            return Answer(self.status, self.body, extra, delay=self.delay)
        if self.status == 200:
            return None
        base = error(self.status, _error_code(self.status), self._message())
        return attrs.evolve(base, headers=base.headers + extra, delay=self.delay)

    def _message(self) -> str:
        try:
            phrase = http.HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Error"
        return f"Injected fault: HTTP {self.status} {phrase}"


@attrs.define
class _Pending:
    fault: Fault
    left: int


class FaultQueue:
    """A thread-safe FIFO of faults, each good for a number of requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: collections.deque[_Pending] = collections.deque()

    def push(self, fault: Fault, times: int) -> None:
        """Queue ``fault`` for the next ``times`` requests after those already queued."""
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        with self._lock:
            self._pending.append(_Pending(fault, times))

    def pop(self) -> Fault | None:
        """The fault for this request, if any."""
        with self._lock:
            if not self._pending:
                return None
            head = self._pending[0]
            head.left -= 1
            if head.left == 0:
                self._pending.popleft()
            return head.fault

    def clear(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._pending.clear()
