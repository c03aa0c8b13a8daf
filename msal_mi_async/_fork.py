"""Fork safety: objects holding locks, threads or loop-bound state reset in a child.

After ``os.fork()`` only the forking thread exists in the child: a lock another thread
held stays held forever, a portal's loop thread is gone, and in-flight fetches will
never finish.  Objects that care call :func:`track` once; in the child each gets its
``_after_fork_in_child()`` called (POSIX only; elsewhere there is no fork).
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["track"]


class _ForkAware(Protocol):
    def _after_fork_in_child(self) -> None: ...


_tracked: weakref.WeakSet[_ForkAware] = weakref.WeakSet()


def track(obj: _ForkAware) -> None:
    """Reset ``obj`` in any child forked while it is alive."""
    _tracked.add(obj)


def _reset_all() -> None:
    for obj in list(_tracked):
        obj._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_all)
