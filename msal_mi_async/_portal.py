"""A long-lived event loop in a daemon thread, reached through an anyio BlockingPortal."""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from . import _fork

__all__ = ["PortalThread"]

T = TypeVar("T")

_live: weakref.WeakSet[PortalThread] = weakref.WeakSet()


class PortalThread:
    """Starts on first use; :meth:`stop` ends the loop and joins the thread."""

    def __init__(self, backend: str = "asyncio") -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self._portal: BlockingPortal | None = None
        self._thread: threading.Thread | None = None
        _fork.track(self)

    def call(self, func: Callable[[], Awaitable[T]]) -> T:
        """Run ``func()`` on the portal's loop and wait for it from this thread."""
        return self._started().call(func)

    def _started(self) -> BlockingPortal:
        portal = self._portal
        if portal is not None:
            return portal
        with self._lock:
            if self._portal is None:
                self._start()
            assert self._portal is not None
            return self._portal

    def _start(self) -> None:
        ready: list[BlockingPortal] = []
        started = threading.Event()

        async def serve() -> None:
            async with BlockingPortal() as portal:
                ready.append(portal)
                started.set()
                await portal.sleep_until_stopped()

        thread = threading.Thread(
            target=anyio.run,
            args=(serve,),
            kwargs={"backend": self._backend},
            name="msal_mi_async-portal",
            daemon=True,
        )
        thread.start()
        started.wait()
        self._portal, self._thread = ready[0], thread
        _live.add(self)

    def stop(self, before_stop: Callable[[], Awaitable[object]] | None = None) -> None:
        """Run ``before_stop`` on the loop (if started), then end the loop.  Idempotent."""
        with self._lock:
            portal, thread = self._portal, self._thread
            self._portal = self._thread = None
        if portal is None or thread is None:
            return
        if thread is threading.current_thread():
            raise RuntimeError("cannot stop the portal from its own thread")
        try:
            if before_stop is not None:
                portal.call(before_stop)
        finally:
            portal.call(portal.stop)
            thread.join()

    def _after_fork_in_child(self) -> None:
        # The parent's loop thread does not exist in the child: start afresh on demand.
        self._lock = threading.Lock()
        self._portal = self._thread = None


@atexit.register
def _stop_all() -> None:
    for portal_thread in list(_live):
        portal_thread.stop()
