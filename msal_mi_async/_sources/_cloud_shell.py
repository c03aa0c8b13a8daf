"""Azure Cloud Shell: a form POST to MSI_ENDPOINT; system-assigned only."""

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

__all__ = ["CloudShellSource"]


@attrs.frozen
class CloudShellSource(ManagedIdentitySource):
    """Azure Cloud Shell: MSI_ENDPOINT without MSI_SECRET."""

    kind = ManagedIdentitySourceKind.CLOUD_SHELL
    endpoint: str

    @classmethod
    def from_environment(cls, env: Mapping[str, str], platform: Platform) -> Self | None:
        endpoint = env_value(env, "MSI_ENDPOINT")
        if endpoint is None:
            return None
        return cls(validated_endpoint(endpoint, "MSI_ENDPOINT", cls.kind))

    def describe(self) -> str:
        return f"cloud_shell at {self.endpoint} (MSI_ENDPOINT is set without MSI_SECRET)"

    def flow(self, request: TokenRequest) -> Flow:
        selector_params(self.kind, request.identity)  # refuses any user-assigned identity
        response: HttpResponse = yield HttpRequest(
            "POST",
            self.endpoint,
            headers=(("Metadata", "true"),),
            form=(("resource", request.resource),),
        )
        return response
