"""The acquisition pipeline: middleware that wrap a handler.

    [user middleware…] → cache_lookup → source_probe → normalize(http_fetch)

A :data:`Middleware` is ``async (request, call_next) -> AccessTokenResult``; it may
return early (a cache hit), change the request, or wrap ``call_next``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias

from ._request import TokenRequest
from ._result import AccessTokenResult

__all__ = ["Handler", "Middleware", "compose", "source_probe"]

Handler: TypeAlias = Callable[[TokenRequest], Awaitable[AccessTokenResult]]
Middleware: TypeAlias = Callable[[TokenRequest, Handler], Awaitable[AccessTokenResult]]


def compose(middleware: Sequence[Middleware], endpoint: Handler) -> Handler:
    """Wrap ``endpoint`` in ``middleware``, the first one outermost."""
    handler = endpoint
    for layer in reversed(middleware):
        handler = functools.partial(_call_layer, layer, handler)
    return handler


async def _call_layer(
    layer: Middleware, call_next: Handler, request: TokenRequest
) -> AccessTokenResult:
    return await layer(request, call_next)


async def source_probe(request: TokenRequest, call_next: Handler) -> AccessTokenResult:
    """Refuse, before any request is sent, an identity the detected source cannot serve."""
    request.source.check_identity(request.identity)
    return await call_next(request)
