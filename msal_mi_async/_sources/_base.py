"""The contract every managed-identity source implements."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from .._errors import ErrorCode, ManagedIdentityConfigurationError
from .._http import Flow, HttpResponse
from .._identity import IdentityKind, ManagedIdentity
from .._kinds import ManagedIdentitySourceKind
from .._normalize import TokenFields, parse_token_response
from .._platform import Platform
from ._selectors import check_selector

if TYPE_CHECKING:
    from typing_extensions import Self

    from .._request import TokenRequest

__all__ = ["ManagedIdentitySource", "env_value", "validated_endpoint"]


def env_value(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, or None when it is unset, empty or only whitespace."""
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def validated_endpoint(url: str, variable: str, kind: ManagedIdentitySourceKind) -> str:
    """Check that an endpoint from the environment is an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        valid = False
    if not valid:
        raise ManagedIdentityConfigurationError(
            f"The environment variable {variable} must be an absolute http or https URL "
            f"for the {kind.value} managed identity source; fix or unset it",
            error_code=ErrorCode.INVALID_ENDPOINT,
            source=kind,
        )
    return url


class ManagedIdentitySource(abc.ABC):
    """A managed-identity endpoint: how it is detected and how a token is requested.

    Subclasses set ``kind`` and ``supported_identities``, build themselves from the
    environment in :meth:`from_environment` (``None`` when not detected), and describe
    the exchange in :meth:`flow` as a generator that performs no I/O.
    """

    kind: ClassVar[ManagedIdentitySourceKind]
    supported_identities: ClassVar[frozenset[IdentityKind]] = frozenset(IdentityKind)
    #: The error code used when an identity kind is not in ``supported_identities``.
    unsupported_identity_code: ClassVar[str] = ErrorCode.USER_ASSIGNED_NOT_SUPPORTED

    @classmethod
    @abc.abstractmethod
    def from_environment(cls, env: Mapping[str, str], platform: Platform) -> Self | None:
        """Return a configured source when the environment selects it, else ``None``."""

    @abc.abstractmethod
    def flow(self, request: TokenRequest) -> Flow:
        """Yield requests (or key-file reads), receive replies, return the final response."""

    def describe(self) -> str:
        """Why this source was chosen, for humans; never includes secrets."""
        return f"{self.kind.value} detected"

    def check_identity(self, identity: ManagedIdentity) -> None:
        """Raise before any request when this source cannot serve ``identity``.

        ``supported_identities`` narrows what a source class accepts; the selector table
        (``_selectors.SELECTOR_TABLE``) then applies the wire rules of its ``kind``.
        """
        if identity.kind not in self.supported_identities:
            raise ManagedIdentityConfigurationError(
                self.unsupported_identity_message(identity),
                error_code=self.unsupported_identity_code,
                source=self.kind,
            )
        check_selector(self.kind, identity)

    def unsupported_identity_message(self, identity: ManagedIdentity) -> str:
        allowed = ", ".join(sorted(kind.value for kind in self.supported_identities))
        return (
            f"The {self.kind.value} managed identity source cannot select an identity by "
            f"{identity.kind.value}; it supports: {allowed}"
        )

    def parse_response(
        self, response: HttpResponse, request: TokenRequest, now: float
    ) -> TokenFields:
        """Turn the flow's final response into token fields (or raise)."""
        return parse_token_response(
            response, source=self.kind, now=now, correlation_id=request.correlation_id
        )
