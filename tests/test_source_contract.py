"""One contract every source passes, end to end against the emulator (asyncio, trio, sync).

For each source: the exact request(s) the emulator received, a token from it, the
selector table enforced before any request, and secrets kept out of errors.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from msal_mi_async import (
    ManagedIdentityClient,
    ManagedIdentityConfigurationError,
    ManagedIdentityError,
    ManagedIdentitySourceKind,
    MemoryTokenCache,
    SyncManagedIdentityClient,
    TokenSource,
    UserAssignedManagedIdentity,
)
from msal_mi_async._arc_keyfile import ArcKeyFileReader
from msal_mi_async._identity import IdentityKind, ManagedIdentity
from msal_mi_async._sources._selectors import SELECTOR_TABLE, Refuse
from msal_mi_async.emulator import Emulator, Fault, RecordedRequest

Kind = ManagedIdentitySourceKind
ARM = "https://management.azure.com"
SECRET = "contract-secret-header-value"
CID = "0c0c0c0c-0000-4000-8000-000000000cid"


@attrs.frozen
class Wire:
    """What one source must put on the wire for a system-assigned ARM token."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str] | None
    headers: dict[str, str]


WIRE: dict[Kind, Wire] = {
    Kind.IMDS: Wire(
        "GET",
        "/metadata/identity/oauth2/token",
        {"api-version": "2018-02-01", "resource": ARM},
        None,
        {"metadata": "true"},
    ),
    Kind.APP_SERVICE: Wire(
        "GET",
        "/msi/token",
        {"api-version": "2019-08-01", "resource": ARM},
        None,
        {"x-identity-header": SECRET},
    ),
    Kind.MACHINE_LEARNING: Wire(
        "GET",
        "/machine-learning/msi/token",
        {"api-version": "2017-09-01", "resource": ARM},
        None,
        {"secret": SECRET, "metadata": "true"},
    ),
    Kind.CLOUD_SHELL: Wire(
        "POST",
        "/cloud-shell/oauth2/token",
        {},
        {"resource": ARM},
        {"metadata": "true", "content-type": "application/x-www-form-urlencoded"},
    ),
    Kind.AZURE_ARC: Wire(
        "GET",
        "/azure-arc/metadata/identity/oauth2/token",
        {"api-version": "2020-06-01", "resource": ARM},
        None,
        {"metadata": "true"},
    ),
    Kind.SERVICE_FABRIC: Wire(
        "GET",
        "/service-fabric/metadata/identity/oauth2/token",
        {"api-version": "2019-07-01-preview", "resource": ARM},
        None,
        {"secret": SECRET},
    ),
}
BASE_HEADERS = {"host", "x-ms-client-request-id", "accept", "accept-encoding", "connection"}
BASE_HEADERS |= {"user-agent", "content-length"}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(identity_header=SECRET) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def fresh(emu: Emulator) -> None:
    emu.reset()


def client_kwargs(emu: Emulator, kind: Kind) -> dict[str, Any]:
    return {
        "environ": emu.env(kind),
        "token_cache": MemoryTokenCache(),
        "read_key_file": ArcKeyFileReader(token_dir=emu.arc_token_dir),
    }


def check_exact_request(seen: RecordedRequest, wire: Wire, correlation_id: str) -> None:
    assert (seen.method, seen.path) == (wire.method, wire.path)
    assert seen.query == wire.query
    assert seen.form == wire.form
    assert seen.headers["x-ms-client-request-id"] == correlation_id
    for name, value in wire.headers.items():
        assert seen.headers[name] == value
    extra = set(seen.headers) - BASE_HEADERS - set(wire.headers)
    assert extra <= {"authorization"}, extra
    assert "cookie" not in seen.headers


def check_wire(emu: Emulator, kind: Kind, correlation_id: str) -> None:
    """The exact requests: one per source, two (challenge, then Basic key) for Arc."""
    seen = emu.requests
    wire = WIRE[kind]
    assert len(seen) == (2 if kind is Kind.AZURE_ARC else 1)
    for request in seen:
        check_exact_request(request, wire, correlation_id)
    assert "authorization" not in seen[0].headers
    if kind is Kind.AZURE_ARC:
        scheme, _, key = seen[1].headers["authorization"].partition(" ")
        assert scheme == "Basic"
        assert len(key) >= 32
        assert os.listdir(emu.arc_token_dir) == []  # the one-use key was redeemed


@pytest.mark.anyio
@pytest.mark.parametrize("kind", list(Kind))
async def test_every_source_acquires_with_the_exact_request(emu: Emulator, kind: Kind) -> None:
    async with ManagedIdentityClient(**client_kwargs(emu, kind)) as client:
        assert await client.get_managed_identity_source() is kind
        result = await client.acquire_token(ARM, correlation_id="corr-1")
        again = await client.acquire_token(ARM)
    check_wire(emu, kind, "corr-1")
    assert result.managed_identity_source is kind
    assert result.token_source is TokenSource.IDENTITY_PROVIDER
    assert result.access_token.count(".") == 2
    assert again.token_source is TokenSource.CACHE
    assert emu.request_count == (2 if kind is Kind.AZURE_ARC else 1)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_source_through_the_sync_facade(emu: Emulator, kind: Kind) -> None:
    with SyncManagedIdentityClient(**client_kwargs(emu, kind)) as client:
        result = client.acquire_token(ARM, correlation_id="corr-sync")
    check_wire(emu, kind, "corr-sync")
    assert result.managed_identity_source is kind


def _selector_cases() -> Iterator[tuple[Kind, IdentityKind, str | Refuse]]:
    for kind, row in SELECTOR_TABLE.items():
        for identity_kind, rule in row.items():
            yield kind, identity_kind, rule


def _user_assigned(emu: Emulator, identity_kind: IdentityKind) -> ManagedIdentity:
    known = emu.user_assigned[0]
    value = getattr(known, identity_kind.value)
    return UserAssignedManagedIdentity(**{identity_kind.value: value})


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "identity_kind", "rule"), list(_selector_cases()))
async def test_selector_table_end_to_end(
    emu: Emulator, kind: Kind, identity_kind: IdentityKind, rule: str | Refuse
) -> None:
    identity = _user_assigned(emu, identity_kind)
    async with ManagedIdentityClient(identity, **client_kwargs(emu, kind)) as client:
        if isinstance(rule, Refuse):
            with pytest.raises(ManagedIdentityConfigurationError) as info:
                await client.acquire_token(ARM)
            assert info.value.error_code == rule.code
            assert info.value.source is kind
            assert identity_kind.value in str(info.value)
            assert emu.request_count == 0
            return
        await client.acquire_token(ARM)
    assert emu.requests[-1].query[rule] == identity.value


@pytest.mark.anyio
async def test_machine_learning_sends_the_default_client_id_for_system_assigned(
    emu: Emulator,
) -> None:
    env = {**emu.env(Kind.MACHINE_LEARNING), "DEFAULT_IDENTITY_CLIENT_ID": CID}
    async with ManagedIdentityClient(environ=env, token_cache=MemoryTokenCache()) as client:
        with pytest.raises(ManagedIdentityError) as info:
            await client.acquire_token(ARM)  # the emulator knows no identity CID
    assert emu.requests[0].query["clientid"] == CID
    assert info.value.status_code == 400


@pytest.mark.anyio
async def test_service_fabric_claims_send_the_revoked_token_hash_and_capabilities(
    emu: Emulator,
) -> None:
    kwargs = client_kwargs(emu, Kind.SERVICE_FABRIC)
    async with ManagedIdentityClient(client_capabilities=("cp1", "cp2"), **kwargs) as client:
        first = await client.acquire_token(ARM)
        second = await client.acquire_token(
            ARM, claims='{"access_token":{"nbf":{"essential":true}}}'
        )
    plain, challenged = emu.requests
    assert "token_sha256_to_refresh" not in plain.query
    assert "xms_cc" not in plain.query
    digest = hashlib.sha256(first.access_token.encode()).hexdigest()
    assert challenged.query == {
        **WIRE[Kind.SERVICE_FABRIC].query,
        "token_sha256_to_refresh": digest,
        "xms_cc": "cp1,cp2",
    }
    assert second.access_token != first.access_token


@pytest.mark.anyio
@pytest.mark.parametrize("kind", list(Kind))
async def test_error_answers_carry_the_server_details_never_the_secret(
    emu: Emulator, kind: Kind
) -> None:
    emu.inject(Fault(status=400), times=2)
    async with ManagedIdentityClient(**client_kwargs(emu, kind)) as client:
        with pytest.raises(ManagedIdentityError) as info:
            await client.acquire_token(ARM, correlation_id="corr-err")
    error = info.value
    assert error.source is kind
    assert error.status_code == 400
    assert error.correlation_id == "corr-err"
    assert "Injected fault: HTTP 400 Bad Request" in str(error)
    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert emu.request_count == 1  # Arc: a 400 on leg 1 is not a challenge; no key read


@pytest.mark.anyio
async def test_machine_learning_date_form_expiry(anyio_backend: str) -> None:
    with Emulator(identity_header=SECRET, ml_expires_on="date12") as emu:
        env = emu.env(Kind.MACHINE_LEARNING)
        async with ManagedIdentityClient(environ=env, token_cache=MemoryTokenCache()) as client:
            result = await client.acquire_token(ARM)
    assert abs(result.expires_on - (time.time() + 3600)) < 60
