"""Every source the emulator serves, keyed by kind; each has its own ``path``."""

from __future__ import annotations

from collections.abc import Mapping

from .._kinds import ManagedIdentitySourceKind as Kind
from ._handlers import APP_SERVICE, IMDS
from ._more_handlers import ARC, CLOUD_SHELL, MACHINE_LEARNING, SERVICE_FABRIC
from ._source import SourceSpec

__all__ = ["SOURCES", "TLS_ONLY"]

SOURCES: Mapping[Kind, SourceSpec] = {
    spec.kind: spec
    for spec in (IMDS, APP_SERVICE, MACHINE_LEARNING, CLOUD_SHELL, ARC, SERVICE_FABRIC)
}
#: Sources answered only on the emulator's TLS port (and never on the plain one).
TLS_ONLY = frozenset({Kind.SERVICE_FABRIC})
