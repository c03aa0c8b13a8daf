"""Helpers for testing code that uses msal_mi_async, without Azure.

from msal_mi_async.testing import emulated_environment

def test_my_service():
    with emulated_environment() as emu:      # IMDS by default
        run_my_service()                      # any client created here talks to emu
        assert_requests(emu, 1, resource="https://management.azure.com")

With pytest, the ``mi_emulator`` fixture (installed as a pytest plugin) does the same
and also empties the process-wide token cache before and after the test.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, MutableMapping
from typing import Any

from ._arc_keyfile import ArcKeyFileReader
from ._kinds import ManagedIdentitySourceKind
from .emulator import Emulator, RecordedRequest

__all__ = [
    "MANAGED_IDENTITY_VARIABLES",
    "ArcKeyFileReader",
    "assert_requests",
    "emulated_environment",
    "patched_environ",
]

#: Every variable detection reads; cleared while an emulated environment is active.
MANAGED_IDENTITY_VARIABLES = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "DEFAULT_IDENTITY_CLIENT_ID",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
)


@contextlib.contextmanager
def patched_environ(
    values: dict[str, str], environ: MutableMapping[str, str] | None = None
) -> Iterator[None]:
    """Clear the managed-identity variables, set ``values``, and restore all on exit."""
    target = os.environ if environ is None else environ
    saved = {name: target.get(name) for name in (*MANAGED_IDENTITY_VARIABLES, *values)}
    try:
        for name in MANAGED_IDENTITY_VARIABLES:
            target.pop(name, None)
        target.update(values)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                target.pop(name, None)
            else:
                target[name] = value


@contextlib.contextmanager
def emulated_environment(
    source: ManagedIdentitySourceKind | str = ManagedIdentitySourceKind.IMDS,
    **emulator_options: Any,
) -> Iterator[Emulator]:
    """Start an :class:`Emulator` and point ``os.environ`` at it for the ``with`` block.

    Clients detect their source when they acquire, so clients created before or inside
    the block both use the emulator.  Tokens cached by the process-wide cache survive
    the block: give clients ``token_cache=MemoryTokenCache()`` to keep tests apart.
    For Azure Arc also pass ``read_key_file=ArcKeyFileReader(token_dir=emu.arc_token_dir)``:
    otherwise the library reads key files only from the agent's fixed directory.
    """
    kind = ManagedIdentitySourceKind(source)
    with Emulator(**emulator_options) as emu, patched_environ(emu.env(kind)):
        yield emu


def _describe(request: RecordedRequest) -> str:
    resource = request.query.get("resource", "-")
    return f"{request.method} {request.path} source={request.source or '-'} resource={resource}"


def assert_requests(
    emulator: Emulator,
    expected: int,
    *,
    source: ManagedIdentitySourceKind | str | None = None,
    resource: str | None = None,
) -> list[RecordedRequest]:
    """Assert the emulator received exactly ``expected`` token requests matching the filters.

    ``source`` (e.g. ``"imds"``) and ``resource`` narrow which requests count.  Returns
    the matching requests; the failure message lists every request received (header
    values left out).
    """
    wanted = None if source is None else ManagedIdentitySourceKind(source).value
    received = emulator.requests
    matching = [
        r
        for r in received
        if (wanted is None or r.source == wanted)
        and (resource is None or r.query.get("resource") == resource)
    ]
    if len(matching) != expected:
        listing = "\n".join(f"  {_describe(r)}" for r in received) or "  (none)"
        raise AssertionError(
            f"expected {expected} request(s) with source={wanted or 'any'} "
            f"resource={resource or 'any'}, got {len(matching)}; received:\n{listing}"
        )
    return matching
