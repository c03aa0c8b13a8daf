"""Azure Machine Learning and legacy App Service: api-version 2017-09-01."""

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

__all__ = ["MachineLearningSource"]

API_VERSION = "2017-09-01"


@attrs.frozen
class MachineLearningSource(ManagedIdentitySource):
    """Azure Machine Learning and legacy App Service: MSI_ENDPOINT + MSI_SECRET.

    The system-assigned identity is requested as ``clientid=DEFAULT_IDENTITY_CLIENT_ID``
    when that variable is set.
    """

    kind = ManagedIdentitySourceKind.MACHINE_LEARNING
    endpoint: str
    secret: str = attrs.field(repr=False)
    default_client_id: str | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str], platform: Platform) -> Self | None:
        endpoint = env_value(env, "MSI_ENDPOINT")
        secret = env_value(env, "MSI_SECRET")
        if endpoint is None or secret is None:
            return None
        endpoint = validated_endpoint(endpoint, "MSI_ENDPOINT", cls.kind)
        return cls(endpoint, secret, env_value(env, "DEFAULT_IDENTITY_CLIENT_ID"))

    def describe(self) -> str:
        return f"machine_learning at {self.endpoint} (MSI_ENDPOINT and MSI_SECRET are set)"

    def flow(self, request: TokenRequest) -> Flow:
        selector = selector_params(self.kind, request.identity)
        if not selector and self.default_client_id is not None:
            selector = (("clientid", self.default_client_id),)
        response: HttpResponse = yield HttpRequest(
            "GET",
            self.endpoint,
            params=(("api-version", API_VERSION), ("resource", request.resource), *selector),
            headers=(("secret", self.secret), ("Metadata", "true")),
        )
        return response
