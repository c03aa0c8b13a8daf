"""Exceptions raised by msal_mi_async.

Every failed acquisition raises a :class:`ManagedIdentityError`::

    ManagedIdentityError
     ├── ManagedIdentityConfigurationError   the request or environment is invalid (local)
     │    └── InvalidResourceError            also a ValueError: bad resource or scope
     ├── ManagedIdentityResponseError         the endpoint answered, but not with a token
     └── ManagedIdentityNetworkError          the endpoint could not be reached in time

``error_code`` carries MSAL's code (see :class:`ErrorCode`); ``attempts`` and ``elapsed``
say how many HTTP attempts the acquisition made and how long it took (None when no
request was attempted).  Messages never contain
tokens, identity headers, secrets or Arc keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._kinds import ManagedIdentitySourceKind

__all__ = [
    "ErrorCode",
    "InvalidResourceError",
    "ManagedIdentityConfigurationError",
    "ManagedIdentityError",
    "ManagedIdentityNetworkError",
    "ManagedIdentityResponseError",
]


class ErrorCode:
    """MSAL's managed-identity error codes, as plain strings."""

    FAILED_RESPONSE = "managed_identity_failed_response"
    REQUEST_FAILED = "managed_identity_request_failed"
    RESPONSE_PARSE_FAILURE = "managed_identity_response_parse_failure"
    UNREACHABLE_NETWORK = "managed_identity_unreachable_network"
    REQUEST_TIMEOUT = "request_timeout"
    CERTIFICATE_MISMATCH = "managed_identity_server_certificate_mismatch"
    INVALID_ENDPOINT = "invalid_managed_identity_endpoint"
    USER_ASSIGNED_NOT_SUPPORTED = "user_assigned_managed_identity_not_supported"
    USER_ASSIGNED_NOT_CONFIGURABLE_AT_RUNTIME = (
        "user_assigned_managed_identity_not_configurable_at_runtime"
    )
    INVALID_ID_TYPE = "invalid_managed_identity_id_type"
    INVALID_RESOURCE = "invalid_resource"
    SOURCE_NOT_IMPLEMENTED = "managed_identity_source_not_implemented"
    ALL_SOURCES_UNAVAILABLE = "managed_identity_all_sources_unavailable"
    CLIENT_CLOSED = "client_closed"


class ManagedIdentityError(Exception):
    """Base class of every error raised for a failed token acquisition."""

    def __init__(
        self,
        message: str,
        *,
        error_code: str,
        status_code: int | None = None,
        correlation_id: str | None = None,
        server_correlation_id: str | None = None,
        source: ManagedIdentitySourceKind | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.status_code = status_code
        self.correlation_id = correlation_id
        self.server_correlation_id = server_correlation_id
        self.source = source
        self.attempts: int | None = None
        self.elapsed: float | None = None

    def __str__(self) -> str:
        parts = [f"[{self.error_code}] {self.message}"]
        if self.source is not None:
            parts.append(f"source={self.source.value}")
        if self.status_code is not None:
            parts.append(f"status={self.status_code}")
        if self.correlation_id is not None:
            parts.append(f"correlation_id={self.correlation_id}")
        if self.server_correlation_id is not None:
            parts.append(f"server_correlation_id={self.server_correlation_id}")
        if self.attempts is not None:
            parts.append(f"attempts={self.attempts}")
        if self.elapsed is not None:
            parts.append(f"elapsed={self.elapsed:.1f}s")
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.error_code!r}, {self.message!r})"


class ManagedIdentityConfigurationError(ManagedIdentityError):
    """The environment or the request is invalid; nothing was sent."""


class InvalidResourceError(ManagedIdentityConfigurationError, ValueError):
    """The resource or scope passed to ``acquire_token`` is malformed."""


class ManagedIdentityResponseError(ManagedIdentityError):
    """The endpoint answered, but not with a usable token."""


class ManagedIdentityNetworkError(ManagedIdentityError):
    """The endpoint could not be reached (refused, reset, DNS) or did not answer in time."""
