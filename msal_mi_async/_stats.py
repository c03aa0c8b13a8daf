"""Counters a client keeps, and the immutable snapshot ``statistics()`` returns."""

from __future__ import annotations

import attrs

__all__ = ["ClientStatistics", "Counters"]


@attrs.frozen
class ClientStatistics:
    """A snapshot of one client's activity; taking it makes no network call."""

    cache_hits: int
    cache_misses: int
    fetches: int
    in_flight: int
    last_refresh_error: str | None


class Counters:
    """Mutable counters, bumped on the hot path (plain ints: cheap and GIL-safe enough)."""

    __slots__ = ("cache_hits", "cache_misses", "fetches", "last_refresh_error")

    def __init__(self) -> None:
        self.cache_hits = 0
        self.cache_misses = 0
        self.fetches = 0
        self.last_refresh_error: str | None = None

    def snapshot(self, in_flight: int) -> ClientStatistics:
        return ClientStatistics(
            self.cache_hits, self.cache_misses, self.fetches, in_flight, self.last_refresh_error
        )
