"""App Service and Azure Functions (api-version 2019-08-01)."""

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

__all__ = ["AppServiceSource"]

API_VERSION = "2019-08-01"


@attrs.frozen
class AppServiceSource(ManagedIdentitySource):
    """App Service: ``GET IDENTITY_ENDPOINT`` with ``X-IDENTITY-HEADER``."""

    kind = ManagedIdentitySourceKind.APP_SERVICE
    endpoint: str
    identity_header: str = attrs.field(repr=False)

    @classmethod
    def from_environment(cls, env: Mapping[str, str], platform: Platform) -> Self | None:
        endpoint = env_value(env, "IDENTITY_ENDPOINT")
        header = env_value(env, "IDENTITY_HEADER")
        if endpoint is None or header is None:
            return None
        return cls(validated_endpoint(endpoint, "IDENTITY_ENDPOINT", cls.kind), header)

    def describe(self) -> str:
        return f"app_service at {self.endpoint} (IDENTITY_ENDPOINT and IDENTITY_HEADER are set)"

    def flow(self, request: TokenRequest) -> Flow:
        params = (("api-version", API_VERSION), ("resource", request.resource))
        selector = selector_params(self.kind, request.identity)
        response: HttpResponse = yield HttpRequest(
            "GET",
            self.endpoint,
            params=params + selector,
            headers=(("X-IDENTITY-HEADER", self.identity_header),),
        )
        return response
