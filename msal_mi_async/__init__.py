"""Azure managed-identity access tokens, async first.

    async with ManagedIdentityClient() as client:
        result = await client.acquire_token("https://management.azure.com")

See the README for the sync facade, the emulator and the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from ._httpx_auth import ManagedIdentityAuth
    from ._providers import async_bearer_token_provider, bearer_token_provider
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
    "ManagedIdentityAuth",
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
    "async_bearer_token_provider",
    "bearer_token_provider",
    "imds_probe",
]


#: Public names whose modules load on first use: the sync facade (anyio's blocking
#: portal, threads) and the integrations that subclass httpx types.  Async-only programs
#: never import them; ``from msal_mi_async import *`` still includes them.
_LAZY = {
    "SyncManagedIdentityClient": "._sync",
    "ManagedIdentityAuth": "._httpx_auth",
    "bearer_token_provider": "._providers",
    "async_bearer_token_provider": "._providers",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
