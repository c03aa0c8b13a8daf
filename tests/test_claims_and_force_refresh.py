"""force_refresh and claims: skip the cache read, replace the entry, never key the cache."""

from __future__ import annotations

from typing import ClassVar

import anyio
import pytest

from msal_mi_async import (
    Flow,
    ManagedIdentityClient,
    MemoryTokenCache,
    Platform,
    SystemAssignedManagedIdentity,
    TokenRequest,
    TokenSource,
)
from msal_mi_async._sources import ImdsSource

from .helpers import Clock, FakeTime, Recorder, ok

pytestmark = pytest.mark.anyio

ARM = "https://management.azure.com"
LINUX = Platform(system="linux", file_exists=lambda path: False)
CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}'


def make_client(recorder: Recorder, cache: MemoryTokenCache | None = None) -> ManagedIdentityClient:
    return ManagedIdentityClient(
        http_client=recorder.client(),
        token_cache=MemoryTokenCache(clock=Clock()) if cache is None else cache,
        platform=LINUX,
        environ={},
        clock=Clock(),
        sleep=FakeTime().sleep,
    )


def request(**kwargs: object) -> TokenRequest:
    return TokenRequest(
        resource=ARM,
        identity=SystemAssignedManagedIdentity(),
        source=ImdsSource(),
        correlation_id="c",
        **kwargs,  # type: ignore[arg-type]
    )


def test_claims_and_force_refresh_are_not_part_of_the_cache_key() -> None:
    plain = request()
    assert request(claims=CLAIMS).cache_key == plain.cache_key
    assert request(claims="other").cache_key == plain.cache_key
    assert request(force_refresh=True).cache_key == plain.cache_key


async def test_a_claims_token_replaces_the_entry_for_everyone() -> None:
    recorder = Recorder(ok("tok-1"), ok("tok-claims"))
    cache = MemoryTokenCache(clock=Clock())
    client, other = make_client(recorder, cache), make_client(recorder, cache)
    await client.acquire_token(ARM)
    refreshed = await client.acquire_token(ARM, claims=CLAIMS)
    assert (refreshed.access_token, refreshed.token_source) == (
        "tok-claims",
        TokenSource.IDENTITY_PROVIDER,
    )
    assert (await other.acquire_token(ARM)).access_token == "tok-claims"
    assert len(cache) == 1
    [_, claims_request] = recorder.requests
    assert "claims" not in claims_request.url.params  # never sent to an MI endpoint


class RecordingImds(ImdsSource):
    """IMDS that records the ``previous_token`` each flow is given."""

    seen: ClassVar[list[str | None]] = []

    def flow(self, request: TokenRequest) -> Flow:
        RecordingImds.seen.append(request.previous_token)
        return (yield from super().flow(request))


async def test_claims_and_force_refresh_skip_a_fresh_entry_and_hand_over_the_old_token() -> None:
    RecordingImds.seen.clear()
    recorder = Recorder(ok("tok-1"), ok("tok-2"), ok("tok-3"))
    client = ManagedIdentityClient(
        http_client=recorder.client(),
        token_cache=MemoryTokenCache(clock=Clock()),
        platform=LINUX,
        environ={},
        clock=Clock(),
        sources=[RecordingImds],
    )
    await client.acquire_token(ARM)
    assert (await client.acquire_token(ARM, claims=CLAIMS)).access_token == "tok-2"
    assert (await client.acquire_token(ARM, force_refresh=True)).access_token == "tok-3"
    assert RecordingImds.seen == [None, "tok-1", "tok-2"]


async def test_a_claims_request_never_joins_an_in_flight_fetch() -> None:
    gate = anyio.Event()
    recorder = Recorder(ok("tok-1"), ok("tok-claims"), gate=gate)
    client = make_client(recorder)
    results: dict[str, str] = {}

    async def plain() -> None:
        results["plain"] = (await client.acquire_token(ARM)).access_token

    async def with_claims() -> None:
        results["claims"] = (await client.acquire_token(ARM, claims=CLAIMS)).access_token

    async with anyio.create_task_group() as group:
        group.start_soon(plain)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(with_claims)
        await anyio.wait_all_tasks_blocked()
        assert len(recorder.requests) == 2
        gate.set()
    # two separate fetches, each with its own answer (trio may wake them in any order)
    assert sorted(results.values()) == ["tok-1", "tok-claims"]


async def test_force_refresh_during_the_refresh_window_replaces_the_entry() -> None:
    clock = Clock()
    recorder = Recorder(ok("tok-1", expires_in=8 * 3600), ok("tok-2", expires_in=8 * 3600))
    client = ManagedIdentityClient(
        http_client=recorder.client(),
        token_cache=MemoryTokenCache(clock=clock),
        platform=LINUX,
        environ={},
        clock=clock,
    )
    await client.acquire_token(ARM)
    clock.advance(5 * 3600)
    forced = await client.acquire_token(ARM, force_refresh=True)
    assert forced.access_token == "tok-2"
    assert len(client._jobs) == 0  # a forced fetch is not a background refresh
    assert (await client.acquire_token(ARM)).access_token == "tok-2"
    await client.aclose()
