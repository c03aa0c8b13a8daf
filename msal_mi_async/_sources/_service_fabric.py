"""Service Fabric: GET over TLS pinned to IDENTITY_SERVER_THUMBPRINT (protocol.md §4)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs

from .._errors import ErrorCode, ManagedIdentityConfigurationError
from .._http import Flow, HttpRequest, HttpResponse
from .._kinds import ManagedIdentitySourceKind
from .._platform import Platform
from ._base import ManagedIdentitySource, env_value, validated_endpoint
from ._selectors import selector_params

if TYPE_CHECKING:
    from typing_extensions import Self

    from .._request import TokenRequest

__all__ = ["ServiceFabricSource", "normalize_thumbprint"]

API_VERSION = "2019-07-01-preview"
_KIND = ManagedIdentitySourceKind.SERVICE_FABRIC
_SEPARATORS = re.compile(r"[\s:]+")
_HEX40 = re.compile(r"[0-9a-f]{40}", re.ASCII)


def normalize_thumbprint(value: str) -> str:
    """Lower-case hex SHA-1: spaces, colons and line breaks dropped; else a clear error."""
    thumbprint = _SEPARATORS.sub("", value).lower()
    if _HEX40.fullmatch(thumbprint) is None:
        raise ManagedIdentityConfigurationError(
            "IDENTITY_SERVER_THUMBPRINT must be the SHA-1 thumbprint of the Service Fabric "
            "endpoint's certificate: 40 hex digits (spaces and colons allowed)",
            error_code=ErrorCode.INVALID_ENDPOINT,
            source=_KIND,
        )
    return thumbprint


def _https_only(endpoint: str) -> str:
    endpoint = validated_endpoint(endpoint, "IDENTITY_ENDPOINT", _KIND)
    if urlsplit(endpoint).scheme != "https":
        raise ManagedIdentityConfigurationError(
            "The environment variable IDENTITY_ENDPOINT must be an https URL for the "
            "service_fabric managed identity source (its certificate is pinned)",
            error_code=ErrorCode.INVALID_ENDPOINT,
            source=_KIND,
        )
    return endpoint


@attrs.frozen
class ServiceFabricSource(ManagedIdentitySource):
    """Service Fabric: IDENTITY_ENDPOINT + IDENTITY_HEADER + IDENTITY_SERVER_THUMBPRINT."""

    kind = _KIND
    endpoint: str = attrs.field(converter=_https_only)
    identity_header: str = attrs.field(repr=False)
    thumbprint: str = attrs.field(converter=normalize_thumbprint)

    @classmethod
    def from_environment(cls, env: Mapping[str, str], platform: Platform) -> Self | None:
        endpoint = env_value(env, "IDENTITY_ENDPOINT")
        header = env_value(env, "IDENTITY_HEADER")
        thumbprint = env_value(env, "IDENTITY_SERVER_THUMBPRINT")
        if endpoint is None or header is None or thumbprint is None:
            return None
        return cls(endpoint, header, thumbprint)

    def describe(self) -> str:
        return (
            f"service_fabric at {self.endpoint} (IDENTITY_ENDPOINT, IDENTITY_HEADER and "
            "IDENTITY_SERVER_THUMBPRINT are set)"
        )

    def flow(self, request: TokenRequest) -> Flow:
        params = (
            ("api-version", API_VERSION),
            ("resource", request.resource),
            *selector_params(self.kind, request.identity),
            *_revocation_params(request),
        )
        response: HttpResponse = yield HttpRequest(
            "GET",
            self.endpoint,
            params=params,
            headers=(("secret", self.identity_header),),
            tls_thumbprint=self.thumbprint,
        )
        return response


def _revocation_params(request: TokenRequest) -> tuple[tuple[str, str], ...]:
    """With a claims challenge: the hash of the token to replace, and our capabilities."""
    if request.claims is None:
        return ()
    params: tuple[tuple[str, str], ...] = ()
    if request.previous_token:
        digest = hashlib.sha256(request.previous_token.encode("utf-8")).hexdigest()
        params += (("token_sha256_to_refresh", digest),)
    if request.client_capabilities:
        params += (("xms_cc", ",".join(request.client_capabilities)),)
    return params
