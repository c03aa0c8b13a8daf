"""Reading the Azure Arc challenge: ``WWW-Authenticate: Basic realm=<key file path>``.

Pure and total: any input gives the path or a :class:`ManagedIdentityResponseError`
(``managed_identity_request_failed``).  Whether the path is an acceptable key file is
checked elsewhere, before anything is read (protocol.md §3).
"""

from __future__ import annotations

import re

from .._errors import ErrorCode, ManagedIdentityResponseError
from .._kinds import ManagedIdentitySourceKind

__all__ = ["parse_basic_realm"]

_CHALLENGE = re.compile(r"basic\s+realm\s*=\s*(?P<realm>.*)", re.IGNORECASE | re.DOTALL)
_MAX_SHOWN = 200


def parse_basic_realm(header: str | None) -> str:
    """The key-file path in an Arc ``WWW-Authenticate`` header value.

    Accepts ``Basic realm=<path>`` (scheme and ``realm`` in any case, optional double
    quotes around the path).  Anything else raises ``ManagedIdentityResponseError``.
    """
    if header is None or not header.strip():
        raise _invalid("the 401 answer has no WWW-Authenticate header")
    match = _CHALLENGE.fullmatch(header.strip())
    if match is None:
        raise _invalid(f"expected 'Basic realm=<path>', got {_shown(header)}")
    realm = _unquoted(match.group("realm").strip())
    if not realm or any(not char.isprintable() for char in realm):
        raise _invalid(f"the realm is not a usable file path: {_shown(header)}")
    return realm


def _unquoted(realm: str) -> str:
    if len(realm) >= 2 and realm[0] == realm[-1] == '"':
        return realm[1:-1].strip()
    return realm


def _shown(header: str) -> str:
    text = header if len(header) <= _MAX_SHOWN else header[:_MAX_SHOWN] + "…"
    return ascii(text)


def _invalid(detail: str) -> ManagedIdentityResponseError:
    return ManagedIdentityResponseError(
        f"The Azure Arc endpoint's challenge is invalid: {detail}",
        error_code=ErrorCode.REQUEST_FAILED,
        status_code=401,
        source=ManagedIdentitySourceKind.AZURE_ARC,
    )
