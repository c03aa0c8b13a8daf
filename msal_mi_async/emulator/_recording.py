"""The requests an emulator received, kept in arrival order."""

from __future__ import annotations

import threading

import attrs

from ._wire import Incoming

__all__ = ["RecordedRequest", "Recorder"]


def _header_names(headers: dict[str, str]) -> str:
    """Header names only: values may carry secrets."""
    return "{" + ", ".join(sorted(headers)) + "}"


@attrs.frozen
class RecordedRequest:
    """One request as the emulator saw it; ``source`` is "" when no source answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = attrs.field(repr=_header_names)
    form: dict[str, str] | None
    source: str

    @classmethod
    def of(cls, request: Incoming, source: str) -> RecordedRequest:
        """Snapshot an incoming request."""
        form = None if request.form is None else dict(request.form)
        return cls(
            request.method, request.path, dict(request.query), dict(request.headers), form, source
        )


class Recorder:
    """Thread-safe, append-only log of requests."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._requests: list[RecordedRequest] = []

    def add(self, request: RecordedRequest) -> None:
        """Record one request and wake anyone waiting for it."""
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` requests are recorded; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._requests) >= count, timeout)

    def snapshot(self) -> list[RecordedRequest]:
        """A copy of everything recorded so far."""
        with self._lock:
            return list(self._requests)

    def count(self) -> int:
        """How many requests were recorded."""
        with self._lock:
            return len(self._requests)

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._requests.clear()
