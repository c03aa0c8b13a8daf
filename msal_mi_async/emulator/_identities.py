"""The identities an emulator knows, and how a request's selector picks one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

__all__ = [
    "DEFAULT_SYSTEM_ASSIGNED",
    "DEFAULT_TENANT_ID",
    "DEFAULT_USER_ASSIGNED",
    "Identity",
    "IdentityBook",
    "SelectorError",
    "UserAssignedIdentity",
]

DEFAULT_TENANT_ID = "7e57e57e-0000-4000-8000-00000000e001"
_SUBSCRIPTION = "/subscriptions/7e57e57e-0000-4000-8000-00000000e002/resourceGroups/emulator"


@attrs.frozen
class Identity:
    """The ids of one emulated managed identity (``principal_id`` defaults to ``object_id``)."""

    client_id: str
    resource_id: str
    object_id: str
    principal_id: str = attrs.field(
        default=attrs.Factory(lambda self: self.object_id, takes_self=True)
    )


@attrs.frozen
class UserAssignedIdentity(Identity):
    """A user-assigned identity the emulator will hand out tokens for."""


DEFAULT_SYSTEM_ASSIGNED = Identity(
    client_id="5e1f5e1f-0000-4000-8000-00000000a001",
    resource_id=f"{_SUBSCRIPTION}/providers/Microsoft.Compute/virtualMachines/emulator-vm",
    object_id="5e1f5e1f-0000-4000-8000-00000000a002",
)
DEFAULT_USER_ASSIGNED = UserAssignedIdentity(
    client_id="05e40000-0000-4000-8000-00000000b001",
    resource_id=(
        f"{_SUBSCRIPTION}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/emulator-uami"
    ),
    object_id="05e40000-0000-4000-8000-00000000b002",
)


class SelectorError(Exception):
    """The request's identity selector names no known identity, or several were sent."""


@attrs.frozen
class IdentityBook:
    """System-assigned (optional) and user-assigned identities, looked up by selector."""

    system_assigned: Identity | None
    user_assigned: Sequence[UserAssignedIdentity]

    def select(self, params: Mapping[str, str], selectors: Mapping[str, str]) -> Identity:
        """Pick the identity named by ``params``; ``selectors`` maps wire name → attribute."""
        sent = [(name, params[name]) for name in selectors if name in params]
        if len(sent) > 1:
            names = ", ".join(name for name, _ in sent)
            raise SelectorError(f"Only one identity selector may be specified; got {names}")
        if not sent:
            if self.system_assigned is None:
                raise SelectorError("Identity not found: no system-assigned identity is enabled")
            return self.system_assigned
        name, value = sent[0]
        return self._lookup(selectors[name], name, value)

    def _lookup(self, attribute: str, name: str, value: str) -> Identity:
        wanted = value.strip().lower()
        for identity in self.user_assigned:
            if str(getattr(identity, attribute)).lower() == wanted:
                return identity
        raise SelectorError(f"Identity not found: no user-assigned identity has {name}={value!r}")
