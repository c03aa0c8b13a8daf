"""Built-in managed-identity sources, in detection order (protocol.md §1)."""

from __future__ import annotations

from ._app_service import AppServiceSource
from ._arc import AzureArcSource
from ._base import ManagedIdentitySource
from ._cloud_shell import CloudShellSource
from ._detect import detect_source
from ._imds import ImdsSource
from ._machine_learning import MachineLearningSource
from ._service_fabric import ServiceFabricSource

__all__ = [
    "DEFAULT_SOURCES",
    "AppServiceSource",
    "AzureArcSource",
    "CloudShellSource",
    "ImdsSource",
    "MachineLearningSource",
    "ManagedIdentitySource",
    "ServiceFabricSource",
    "detect_source",
]

DEFAULT_SOURCES: tuple[type[ManagedIdentitySource], ...] = (
    ServiceFabricSource,
    AppServiceSource,
    MachineLearningSource,
    CloudShellSource,
    AzureArcSource,
    ImdsSource,
)
