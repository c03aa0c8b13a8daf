"""A local stand-in for every Azure managed-identity endpoint (all six sources).

with Emulator() as emu:
    env = emu.env(ManagedIdentitySourceKind.IMDS)   # point the library at it
    emu.inject(Fault(status=429, retry_after="1"))  # script the next answer
    ...
    assert emu.request_count == 2
"""

from __future__ import annotations

from ._emulator import Emulator
from ._faults import Fault
from ._identities import Identity, UserAssignedIdentity
from ._recording import RecordedRequest

__all__ = ["Emulator", "Fault", "Identity", "RecordedRequest", "UserAssignedIdentity"]
