"""Background jobs a client owns (proactive refreshes), on asyncio and trio alike.

Users are not forced into ``async with``, so there is no task group to start jobs in.
Instead each job is spawned on the *running* event loop with that backend's own
primitive: ``loop.create_task`` on asyncio (a strong reference is kept until it ends),
``trio.lowlevel.spawn_system_task`` on trio.  Every job runs inside an
``anyio.CancelScope`` the owner keeps, never lets an ``Exception`` escape (a trio system
task must not crash the run), and signals an ``anyio.Event`` when it ends, so
:meth:`BackgroundJobs.aclose` can cancel every job and wait for each to finish: no
task outlives the client, and no "task was destroyed" warnings.  At most one job per
key runs at a time.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from . import _fork

__all__ = ["BackgroundJobs"]

logger = logging.getLogger("msal_mi_async")


class _Job:
    __slots__ = ("done", "loop", "scope")

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self.done = anyio.Event()
        self.loop = anyio.lowlevel.current_token()


class BackgroundJobs:
    """At most one running job per key; :meth:`aclose` cancels and awaits them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[Hashable, _Job] = {}
        self._closed = False
        _fork.track(self)

    def __len__(self) -> int:
        return len(self._jobs)

    def running(self, key: Hashable) -> bool:
        return key in self._jobs

    def start(self, key: Hashable, job: Callable[[], Awaitable[object]]) -> bool:
        """Start ``job`` on the running loop unless one runs for ``key``; True if started."""
        with self._lock:
            if self._closed or key in self._jobs:
                return False
            entry = self._jobs[key] = _Job()
        _spawn(self._run, key, entry, job)
        return True

    async def _run(self, key: Hashable, entry: _Job, job: Callable[[], Awaitable[object]]) -> None:
        try:
            with entry.scope:
                await job()
        except Exception:  # a bug, not a failed refresh: never crash the event loop
            logger.exception("A background job of msal_mi_async failed unexpectedly")
        finally:
            with self._lock:
                if self._jobs.get(key) is entry:
                    del self._jobs[key]
            entry.done.set()

    async def wait_idle(self) -> None:
        """Wait until no job runs (jobs started meanwhile included)."""
        while True:
            with self._lock:
                pending = list(self._jobs.values())
            if not pending:
                return
            for entry in pending:
                await entry.done.wait()

    async def aclose(self) -> None:
        """Refuse new jobs, cancel the running ones and wait for them to end."""
        with self._lock:
            self._closed = True
            pending = list(self._jobs.values())
        here = anyio.lowlevel.current_token()
        for entry in pending:
            if entry.loop == here:
                entry.scope.cancel()
                await entry.done.wait()
            else:  # started on another event loop (thread): cancel it there
                _cancel_elsewhere(entry)

    def _after_fork_in_child(self) -> None:
        """In a forked child the parent's loops and tasks do not exist."""
        self._lock = threading.Lock()
        self._jobs = {}


def _cancel_elsewhere(entry: _Job) -> None:
    with contextlib.suppress(RuntimeError):  # that loop has ended, and its tasks with it
        anyio.from_thread.run_sync(entry.scope.cancel, token=entry.loop)


def _on_trio() -> bool:
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def _spawn(run: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
    if _on_trio():
        import trio

        trio.lowlevel.spawn_system_task(run, *args, name="msal_mi_async refresh")
        return
    import asyncio

    task: asyncio.Task[None] = asyncio.get_running_loop().create_task(
        run(*args), name="msal_mi_async refresh"
    )
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


#: Strong references to running asyncio tasks (the loop keeps only weak ones).
_TASKS: set[Any] = set()
