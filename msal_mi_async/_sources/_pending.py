"""Sources that are detected but whose token exchange has not landed yet.

Detection follows protocol.md §1 exactly so ``get_managed_identity_source()`` and
``msal-mi detect`` answer correctly; acquiring a token raises a clear error naming the
detected source instead of silently falling back to another endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from .._errors import ErrorCode, ManagedIdentityConfigurationError
from .._http import Flow
from .._kinds import ManagedIdentitySourceKind
from .._platform import Platform
from ._base import ManagedIdentitySource, env_value, validated_endpoint

if TYPE_CHECKING:
    from typing_extensions import Self

    from .._request import TokenRequest

__all__ = ["AzureArcSource", "CloudShellSource", "MachineLearningSource", "ServiceFabricSource"]

ARC_DEFAULT_ENDPOINT = "http://127.0.0.1:40342/metadata/identity/oauth2/token"
ARC_LINUX_AGENT = "/opt/azcmagent/bin/himds"


def _not_yet(kind: ManagedIdentitySourceKind) -> ManagedIdentityConfigurationError:
    return ManagedIdentityConfigurationError(
        f"The {kind.value} managed identity source was detected, but this version of "
        "msal_mi_async cannot acquire tokens from it yet",
        error_code=ErrorCode.SOURCE_NOT_IMPLEMENTED,
        source=kind,
    )


class _PendingFlow(ManagedIdentitySource):
    def flow(self, request: TokenRequest) -> Flow:
        raise _not_yet(self.kind)
        yield  # pragma: no cover - makes this a generator


@attrs.frozen
class ServiceFabricSource(_PendingFlow):
    """Service Fabric: IDENTITY_ENDPOINT + IDENTITY_HEADER + IDENTITY_SERVER_THUMBPRINT."""

    kind = ManagedIdentitySourceKind.SERVICE_FABRIC
    endpoint: str
    identity_header: str = attrs.field(repr=False)
    thumbprint: str

    @classmethod
    def from_environment(cls, env: Mapping[str, str], platform: Platform) -> Self | None:
        endpoint = env_value(env, "IDENTITY_ENDPOINT")
        header = env_value(env, "IDENTITY_HEADER")
        thumbprint = env_value(env, "IDENTITY_SERVER_THUMBPRINT")
        if endpoint is None or header is None or thumbprint is None:
            return None
        return cls(validated_endpoint(endpoint, "IDENTITY_ENDPOINT", cls.kind), header, thumbprint)

    def describe(self) -> str:
        return (
            f"service_fabric at {self.endpoint} (IDENTITY_ENDPOINT, IDENTITY_HEADER and "
            "IDENTITY_SERVER_THUMBPRINT are set)"
        )


@attrs.frozen
class MachineLearningSource(_PendingFlow):
    """Azure Machine Learning and legacy App Service: MSI_ENDPOINT + MSI_SECRET."""

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


@attrs.frozen
class CloudShellSource(_PendingFlow):
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


def arc_agent_path(env: Mapping[str, str], platform: Platform) -> str | None:
    """Where the Arc agent binary would be on this platform (None when unsupported)."""
    if platform.is_linux:
        return ARC_LINUX_AGENT
    if platform.is_windows:
        program_files = env_value(env, "ProgramFiles") or "C:\\Program Files"
        return program_files + "\\AzureConnectedMachineAgent\\himds.exe"
    return None


@attrs.frozen
class AzureArcSource(_PendingFlow):
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
