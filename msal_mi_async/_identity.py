"""Which identity to ask for: system-assigned, or one user-assigned identity."""

from __future__ import annotations

import enum

import attrs

__all__ = [
    "IdentityKind",
    "ManagedIdentity",
    "SystemAssignedManagedIdentity",
    "UserAssignedManagedIdentity",
]


class IdentityKind(str, enum.Enum):
    """How an identity is selected on the wire."""

    SYSTEM_ASSIGNED = "system_assigned"
    CLIENT_ID = "client_id"
    RESOURCE_ID = "resource_id"
    OBJECT_ID = "object_id"


@attrs.frozen
class SystemAssignedManagedIdentity:
    """The identity Azure assigned to this resource itself."""

    @property
    def kind(self) -> IdentityKind:
        return IdentityKind.SYSTEM_ASSIGNED

    @property
    def value(self) -> None:
        return None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"identity selectors are strings, got {type(value).__name__}")
    return value.strip() or None


@attrs.frozen(init=False)
class UserAssignedManagedIdentity:
    """A user-assigned identity, chosen by exactly one of client id, resource id, object id."""

    kind: IdentityKind
    value: str

    def __init__(
        self,
        *,
        client_id: str | None = None,
        resource_id: str | None = None,
        object_id: str | None = None,
    ) -> None:
        given = {
            IdentityKind.CLIENT_ID: _clean(client_id),
            IdentityKind.RESOURCE_ID: _clean(resource_id),
            IdentityKind.OBJECT_ID: _clean(object_id),
        }
        chosen = [(kind, value) for kind, value in given.items() if value is not None]
        if len(chosen) != 1:
            raise ValueError(
                "UserAssignedManagedIdentity needs exactly one non-empty selector: "
                "client_id=..., resource_id=... or object_id=..."
            )
        self.__attrs_init__(*chosen[0])

    @property
    def client_id(self) -> str | None:
        return self.value if self.kind is IdentityKind.CLIENT_ID else None

    @property
    def resource_id(self) -> str | None:
        return self.value if self.kind is IdentityKind.RESOURCE_ID else None

    @property
    def object_id(self) -> str | None:
        return self.value if self.kind is IdentityKind.OBJECT_ID else None

    def __repr__(self) -> str:
        return f"UserAssignedManagedIdentity({self.kind.value}={self.value!r})"


ManagedIdentity = SystemAssignedManagedIdentity | UserAssignedManagedIdentity
