"""Minting JWT-shaped, unsigned access tokens with realistic claims."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Mapping

import attrs

from ._identities import Identity

__all__ = ["Grant", "TokenMinter"]

_HEADER = {"typ": "JWT", "alg": "none", "kid": "msal-mi-emulator"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(document: Mapping[str, object]) -> str:
    return _b64url(json.dumps(document, separators=(",", ":")).encode())


_HEADER_SEGMENT = _segment(_HEADER)
_SIGNATURE_SEGMENT = _b64url(b"msal-mi-emulator: not signed")


@attrs.frozen
class Grant:
    """One minted token and the facts a response body is made of."""

    access_token: str = attrs.field(repr=False)
    identity: Identity
    resource: str
    issued_at: int
    expires_on: int
    lifetime: int
    refresh_in: int | None


@attrs.frozen
class TokenMinter:
    """Makes a fresh, distinct token per call, timed by the injected clock."""

    tenant_id: str
    lifetime: int
    clock: Callable[[], float]
    refresh_in: int | None = None

    def mint(self, resource: str, identity: Identity) -> Grant:
        """A new token for ``identity`` with audience ``resource``."""
        now = int(self.clock())
        expires_on = now + self.lifetime
        token = ".".join(
            (_HEADER_SEGMENT, _segment(self._claims(resource, identity, now)), _SIGNATURE_SEGMENT)
        )
        return Grant(token, identity, resource, now, expires_on, self.lifetime, self.refresh_in)

    def _claims(self, resource: str, identity: Identity, now: int) -> dict[str, object]:
        issuer = f"https://sts.windows.net/{self.tenant_id}/"
        return {
            "aud": resource,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            "appid": identity.client_id,
            "appidacr": "2",
            "idp": issuer,
            "idtyp": "app",
            "oid": identity.object_id,
            "sub": identity.object_id,
            "tid": self.tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
            "xms_mirid": identity.resource_id,
        }
