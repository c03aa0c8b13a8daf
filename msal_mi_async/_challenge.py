"""Reading a claims challenge from a ``WWW-Authenticate`` header (pure)."""

from __future__ import annotations

import base64
import binascii
import json
import re

__all__ = ["claims_from_challenge"]

_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


def _bearer_params(header: str) -> dict[str, str]:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return {}
    return {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM.finditer(rest)}


def _decode(encoded: str) -> str | None:
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        text = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_")).decode()
        json.loads(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text


def claims_from_challenge(header: str | None) -> str | None:
    """The decoded claims JSON of a Bearer ``insufficient_claims`` challenge, else None."""
    if not header:
        return None
    params = _bearer_params(header)
    if params.get("error") != "insufficient_claims" or not params.get("claims"):
        return None
    return _decode(params["claims"])
