"""Azure Instance Metadata Service (VMs, scale sets, AKS node identity)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from .._http import Flow, HttpRequest, HttpResponse
from .._kinds import ManagedIdentitySourceKind
from .._platform import Platform
from ._base import ManagedIdentitySource, env_value, validated_endpoint
from ._selectors import selector_params

if TYPE_CHECKING:
    from typing_extensions import Self

    from .._request import TokenRequest

__all__ = ["ImdsSource"]

DEFAULT_IMDS_HOST = "http://169.254.169.254"
TOKEN_PATH = "/metadata/identity/oauth2/token"
API_VERSION = "2018-02-01"


@attrs.frozen
class ImdsSource(ManagedIdentitySource):
    """IMDS: ``GET {host}/metadata/identity/oauth2/token`` with ``Metadata: true``."""

    kind = ManagedIdentitySourceKind.IMDS
    endpoint: str = DEFAULT_IMDS_HOST + TOKEN_PATH

    @classmethod
    def from_environment(cls, env: Mapping[str, str], platform: Platform) -> Self:
        host = env_value(env, "AZURE_POD_IDENTITY_AUTHORITY_HOST")
        if host is None:
            return cls()
        host = validated_endpoint(host, "AZURE_POD_IDENTITY_AUTHORITY_HOST", cls.kind)
        return cls(endpoint=host.rstrip("/") + TOKEN_PATH)

    def describe(self) -> str:
        return f"imds at {self.endpoint} (the fallback when no other source is configured)"

    def flow(self, request: TokenRequest) -> Flow:
        params = (("api-version", API_VERSION), ("resource", request.resource))
        selector = selector_params(self.kind, request.identity)
        response: HttpResponse = yield HttpRequest(
            "GET", self.endpoint, params=params + selector, headers=(("Metadata", "true"),)
        )
        return response
