"""Enumerations shared across the package."""

from __future__ import annotations

import enum

__all__ = ["ManagedIdentitySourceKind", "TokenSource"]


class ManagedIdentitySourceKind(str, enum.Enum):
    """Which managed-identity endpoint serves tokens in this environment."""

    IMDS = "imds"
    APP_SERVICE = "app_service"
    AZURE_ARC = "azure_arc"
    CLOUD_SHELL = "cloud_shell"
    SERVICE_FABRIC = "service_fabric"
    MACHINE_LEARNING = "machine_learning"

    def __str__(self) -> str:
        return self.value


class TokenSource(str, enum.Enum):
    """Where an :class:`AccessTokenResult` came from."""

    CACHE = "cache"
    IDENTITY_PROVIDER = "identity_provider"

    def __str__(self) -> str:
        return self.value
