"""Which user-assigned selector each source sends, or why it refuses: one table.

protocol.md §2.  A refusal is raised before any request is sent.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .._errors import ErrorCode, ManagedIdentityConfigurationError
from .._identity import IdentityKind, ManagedIdentity
from .._kinds import ManagedIdentitySourceKind as Kind

__all__ = ["SELECTOR_TABLE", "Refuse", "check_selector", "selector_params"]


@attrs.frozen
class Refuse:
    """This source cannot select an identity this way: raise ``code`` with ``why``."""

    code: str
    why: str


_NOT_SUPPORTED = Refuse(
    ErrorCode.USER_ASSIGNED_NOT_SUPPORTED, "it serves only its system-assigned identity"
)
_NOT_AT_RUNTIME = Refuse(
    ErrorCode.USER_ASSIGNED_NOT_CONFIGURABLE_AT_RUNTIME,
    "the identity is configured in the application manifest; only object_id "
    "(sent as principalId) can be chosen at runtime",
)
_CLIENT_ID_ONLY = Refuse(
    ErrorCode.INVALID_ID_TYPE, "api-version 2017-09-01 selects identities by client_id only"
)

_COLUMNS = (IdentityKind.CLIENT_ID, IdentityKind.RESOURCE_ID, IdentityKind.OBJECT_ID)
_ROWS: tuple[tuple[Kind, str | Refuse, str | Refuse, str | Refuse], ...] = (
    # source                 client_id         resource_id       object_id
    (Kind.IMDS,              "client_id",      "msi_res_id",     "object_id"),
    (Kind.APP_SERVICE,       "client_id",      "mi_res_id",      "object_id"),
    (Kind.AZURE_ARC,         "client_id",      "msi_res_id",     "object_id"),
    (Kind.SERVICE_FABRIC,    _NOT_AT_RUNTIME,  _NOT_AT_RUNTIME,  "principalId"),
    (Kind.MACHINE_LEARNING,  "clientid",       _CLIENT_ID_ONLY,  _CLIENT_ID_ONLY),
    (Kind.CLOUD_SHELL,       _NOT_SUPPORTED,   _NOT_SUPPORTED,   _NOT_SUPPORTED),
)  # fmt: skip

#: source → user-assigned identity kind → the query/form parameter name, or a refusal.
SELECTOR_TABLE: Mapping[Kind, Mapping[IdentityKind, str | Refuse]] = {
    source: dict(zip(_COLUMNS, cells, strict=True)) for source, *cells in _ROWS
}


def check_selector(source: Kind, identity: ManagedIdentity) -> str | None:
    """The wire name of ``identity``'s selector on ``source`` (None: system-assigned).

    Raises ManagedIdentityConfigurationError when the source cannot select it.
    """
    if identity.kind is IdentityKind.SYSTEM_ASSIGNED:
        return None
    rule = SELECTOR_TABLE[source][identity.kind]
    if isinstance(rule, Refuse):
        raise ManagedIdentityConfigurationError(
            f"The {source.value} managed identity source cannot select a user-assigned "
            f"identity by {identity.kind.value}: {rule.why}",
            error_code=rule.code,
            source=source,
        )
    return rule


def selector_params(source: Kind, identity: ManagedIdentity) -> tuple[tuple[str, str], ...]:
    """The parameter that selects ``identity`` on ``source``, if any (raises on refusal)."""
    name = check_selector(source, identity)
    if name is None or identity.value is None:
        return ()
    return ((name, identity.value),)
