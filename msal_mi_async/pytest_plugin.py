"""pytest plugin (registered via the ``pytest11`` entry point): the ``mi_emulator`` fixture.

    def test_reads_blob(mi_emulator):
        run_code_that_uses_managed_identity()
        assert_requests(mi_emulator, 1, resource="https://storage.azure.com")

The fixture starts an :class:`~msal_mi_async.emulator.Emulator`, points the environment
at it (IMDS; parametrize indirectly with a source kind such as ``"app_service"`` for
another) and empties the process-wide token cache before and after the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._cache import DEFAULT_CACHE
from ._kinds import ManagedIdentitySourceKind
from .emulator import Emulator
from .testing import emulated_environment

__all__ = ["mi_emulator"]


@pytest.fixture
def mi_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A running emulator that every managed-identity client in the test talks to."""
    source = getattr(request, "param", ManagedIdentitySourceKind.IMDS)
    DEFAULT_CACHE.clear()
    try:
        with emulated_environment(source) as emu:
            yield emu
    finally:
        DEFAULT_CACHE.clear()
