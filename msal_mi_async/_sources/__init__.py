"""Built-in managed-identity sources, in detection order (protocol.md §1)."""

from __future__ import annotations

from ._app_service import AppServiceSource
from ._base import ManagedIdentitySource
from ._detect import detect_source
from ._imds import ImdsSource
from ._pending import (
    AzureArcSource,
    CloudShellSource,
    MachineLearningSource,
    ServiceFabricSource,
)

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
