"""Azure managed-identity access tokens, async first.

    async with ManagedIdentityClient() as client:
        result = await client.acquire_token("https://management.azure.com")

See the README for the sync facade, the emulator and the command line.
"""

from __future__ import annotations

from ._cache import MemoryTokenCache, TokenCache
from ._client import ManagedIdentityClient
from ._errors import (
    ErrorCode,
    InvalidResourceError,
    ManagedIdentityConfigurationError,
    ManagedIdentityError,
    ManagedIdentityNetworkError,
    ManagedIdentityResponseError,
)
from ._http import Flow, HttpRequest, HttpResponse, ReadKeyFile
from ._identity import IdentityKind, SystemAssignedManagedIdentity, UserAssignedManagedIdentity
from ._kinds import ManagedIdentitySourceKind, TokenSource
from ._pipeline import Handler, Middleware
from ._platform import Platform
from ._probe import imds_probe
from ._request import TokenRequest
from ._result import AccessTokenResult
from ._retry import RetryPolicy
from ._sources import (
    AppServiceSource,
    AzureArcSource,
    CloudShellSource,
    ImdsSource,
    MachineLearningSource,
    ManagedIdentitySource,
    ServiceFabricSource,
)
from ._stats import ClientStatistics
from ._sync import SyncManagedIdentityClient

__version__ = "0.1.0"

__all__ = [
    "AccessTokenResult",
    "AppServiceSource",
    "AzureArcSource",
    "ClientStatistics",
    "CloudShellSource",
    "ErrorCode",
    "Flow",
    "Handler",
    "HttpRequest",
    "HttpResponse",
    "IdentityKind",
    "ImdsSource",
    "InvalidResourceError",
    "MachineLearningSource",
    "ManagedIdentityClient",
    "ManagedIdentityConfigurationError",
    "ManagedIdentityError",
    "ManagedIdentityNetworkError",
    "ManagedIdentityResponseError",
    "ManagedIdentitySource",
    "ManagedIdentitySourceKind",
    "MemoryTokenCache",
    "Middleware",
    "Platform",
    "ReadKeyFile",
    "RetryPolicy",
    "ServiceFabricSource",
    "SyncManagedIdentityClient",
    "SystemAssignedManagedIdentity",
    "TokenCache",
    "TokenRequest",
    "TokenSource",
    "UserAssignedManagedIdentity",
    "__version__",
    "imds_probe",
]
