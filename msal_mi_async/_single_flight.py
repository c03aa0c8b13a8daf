"""One fetch per key at a time, shared by every task and thread that asks.

Waiters on the leader's event loop wait on an ``anyio.Event``; waiters on another
loop (another thread's ``anyio.run``, the sync facade's portal) wait for the same
outcome in a worker thread.  If the leader is cancelled its flight is abandoned and
the waiters race again, so one of them leads the next attempt: nobody is stranded.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

import anyio
import anyio.lowlevel

from . import _fork

__all__ = ["SingleFlight"]

T = TypeVar("T")


class _Abandoned:
    """Outcome of a flight whose leader was cancelled."""


_ABANDONED = _Abandoned()


class _Flight(Generic[T]):
    __slots__ = ("done", "loop", "outcome")

    def __init__(self) -> None:
        self.loop = anyio.lowlevel.current_token()
        self.done = anyio.Event()
        self.outcome: Future[T | _Abandoned] = Future()


class SingleFlight(Generic[T]):
    """Run at most one ``fetch`` per key; concurrent callers share its outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight[T]] = {}
        _fork.track(self)

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    def _after_fork_in_child(self) -> None:
        # Flights belong to the parent's loops and threads; its lock may be held.
        self._lock = threading.Lock()
        self._flights = {}

    async def run(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """Return ``(result, led)``; ``led`` is True for the caller that fetched."""
        while True:
            with self._lock:
                flight = self._flights.get(key)
                leader = flight is None
                if flight is None:
                    flight = self._flights[key] = _Flight()
            if leader:
                return await self._lead(key, flight, fetch), True
            outcome = await self._follow(flight)
            if not isinstance(outcome, _Abandoned):
                return outcome, False

    async def _lead(
        self, key: Hashable, flight: _Flight[T], fetch: Callable[[], Awaitable[T]]
    ) -> T:
        try:
            result = await fetch()
        except Exception as exc:
            self._finish(key, flight, exc)
            raise
        except BaseException:
            self._finish(key, flight, _ABANDONED)
            raise
        self._finish(key, flight, result)
        return result

    def _finish(
        self, key: Hashable, flight: _Flight[T], outcome: T | _Abandoned | Exception
    ) -> None:
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
        if isinstance(outcome, Exception):
            flight.outcome.set_exception(outcome)
        else:
            flight.outcome.set_result(outcome)
        flight.done.set()

    async def _follow(self, flight: _Flight[T]) -> T | _Abandoned:
        if flight.loop == anyio.lowlevel.current_token():
            await flight.done.wait()
        else:
            await anyio.to_thread.run_sync(flight.outcome.exception, abandon_on_cancel=True)
        return flight.outcome.result()
