"""Azure Arc (the HIMDS agent): a 401 challenge answered with a local key file (§3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from .._errors import ErrorCode, ManagedIdentityResponseError
from .._http import Flow, HttpRequest, HttpResponse, ReadKeyFile
from .._identity import IdentityKind, ManagedIdentity
from .._kinds import ManagedIdentitySourceKind
from .._normalize import TokenFields, error_from_response
from .._platform import Platform
from ._arc_challenge import parse_basic_realm
from ._base import ManagedIdentitySource, env_value, validated_endpoint
from ._selectors import selector_params

if TYPE_CHECKING:
    from typing_extensions import Self

    from .._request import TokenRequest

__all__ = ["AzureArcSource", "arc_agent_path"]

API_VERSION = "2020-06-01"
ARC_DEFAULT_ENDPOINT = "http://127.0.0.1:40342/metadata/identity/oauth2/token"
ARC_LINUX_AGENT = "/opt/azcmagent/bin/himds"
#: Response fields that must echo a user-assigned selector (``mi_res_id`` is an alias).
ECHO_FIELDS: Mapping[IdentityKind, tuple[str, ...]] = {
    IdentityKind.CLIENT_ID: ("client_id",),
    IdentityKind.RESOURCE_ID: ("msi_res_id", "mi_res_id"),
    IdentityKind.OBJECT_ID: ("object_id",),
}


def arc_agent_path(env: Mapping[str, str], platform: Platform) -> str | None:
    """Where the Arc agent binary would be on this platform (None when unsupported)."""
    if platform.is_linux:
        return ARC_LINUX_AGENT
    if platform.is_windows:
        program_files = env_value(env, "ProgramFiles") or "C:\\Program Files"
        return program_files + "\\AzureConnectedMachineAgent\\himds.exe"
    return None


@attrs.frozen
class AzureArcSource(ManagedIdentitySource):
    """Azure Arc: IDENTITY_ENDPOINT + IMDS_ENDPOINT, or the agent binary on disk."""

    kind = ManagedIdentitySourceKind.AZURE_ARC
    endpoint: str = ARC_DEFAULT_ENDPOINT
    reason: str = "IDENTITY_ENDPOINT and IMDS_ENDPOINT are set"

    @classmethod
    def from_environment(cls, env: Mapping[str, str], platform: Platform) -> Self | None:
        endpoint = env_value(env, "IDENTITY_ENDPOINT")
        if endpoint is not None and env_value(env, "IMDS_ENDPOINT") is not None:
            return cls(validated_endpoint(endpoint, "IDENTITY_ENDPOINT", cls.kind))
        agent = arc_agent_path(env, platform)
        if agent is not None and platform.file_exists(agent):
            return cls(reason=f"the Arc agent {agent} exists")
        return None

    def describe(self) -> str:
        return f"azure_arc at {self.endpoint} ({self.reason})"

    def flow(self, request: TokenRequest) -> Flow:
        params = (("api-version", API_VERSION), ("resource", request.resource))
        first = HttpRequest(
            "GET",
            self.endpoint,
            params=params + selector_params(self.kind, request.identity),
            headers=(("Metadata", "true"),),
        )
        response: HttpResponse = yield first
        if 200 <= response.status_code < 300:
            return response
        path = self._challenge(response, request)
        key: str = yield ReadKeyFile(path)
        answer: HttpResponse = yield first.with_header("Authorization", f"Basic {key}")
        return answer

    def _challenge(self, response: HttpResponse, request: TokenRequest) -> str:
        if response.status_code != 401:
            raise error_from_response(
                response, source=self.kind, correlation_id=request.correlation_id
            )
        try:
            path = parse_basic_realm(response.header("www-authenticate"))
        except ManagedIdentityResponseError as exc:
            exc.correlation_id = request.correlation_id
            raise
        return path

    def parse_response(
        self, response: HttpResponse, request: TokenRequest, now: float
    ) -> TokenFields:
        fields = super().parse_response(response, request, now)
        _confirm_echo(fields, request.identity, request.correlation_id)
        return fields


def _confirm_echo(fields: TokenFields, identity: ManagedIdentity, correlation_id: str) -> None:
    """Fail closed unless the agent echoed the user-assigned selector we sent."""
    if identity.value is None:
        return
    names = ECHO_FIELDS[identity.kind]
    wanted = identity.value.casefold()
    echoed = [fields.body.get(name) for name in names]
    if any(isinstance(value, str) and value.casefold() == wanted for value in echoed):
        return
    raise ManagedIdentityResponseError(
        "Azure Arc did not confirm the requested user-assigned managed identity "
        f"({names[0]}={identity.value}); the agent may not support user-assigned "
        "identities, so the token was discarded",
        error_code=ErrorCode.REQUEST_FAILED,
        status_code=200,
        correlation_id=correlation_id,
        source=ManagedIdentitySourceKind.AZURE_ARC,
    )
