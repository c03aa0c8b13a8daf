"""Sans-I/O messages exchanged between a source's flow and the pipeline that drives it."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any, TypeAlias

import attrs

__all__ = ["Flow", "HttpRequest", "HttpResponse", "ReadKeyFile"]


@attrs.frozen
class HttpRequest:
    """One HTTP request a flow wants sent.  Header values may be secret: never log them.

    ``tls_thumbprint`` (lower-case hex SHA-1) pins the server's leaf certificate: the
    request is sent only over https to a server presenting exactly that certificate.
    """

    method: str
    url: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)
    form: tuple[tuple[str, str], ...] | None = None
    tls_thumbprint: str | None = None

    def with_header(self, name: str, value: str) -> HttpRequest:
        return attrs.evolve(self, headers=(*self.headers, (name, value)))

    def header_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.headers)


def _lower_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@attrs.frozen
class HttpResponse:
    """An HTTP response handed back to a flow.  Header names are lower-case."""

    status_code: int
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_keys)
    content: bytes = attrs.field(default=b"", repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@attrs.frozen
class ReadKeyFile:
    """Ask the driver for the contents of an Azure Arc key file (validated by the driver)."""

    path: str


#: A source's exchange: yields requests or file reads, is sent the response (or the file's
#: text), and returns the final response for the normalizer.  The send type is ``Any``:
#: an HttpRequest is answered with an HttpResponse, a ReadKeyFile with a ``str``.
Flow: TypeAlias = Generator[HttpRequest | ReadKeyFile, Any, HttpResponse]
