"""An httpx transport built on its first request (keeps TLS set-up off the http path)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

__all__ = ["LazyTransport"]


class LazyTransport(httpx.AsyncBaseTransport):
    """Delegates to ``factory()``, called once, when the first request arrives."""

    def __init__(self, factory: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._factory = factory
        self._inner: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = self._factory()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()
