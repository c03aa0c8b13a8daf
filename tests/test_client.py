"""The async client through httpx.MockTransport: exact requests, cache, errors, stats."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from msal_mi_async import (
    ErrorCode,
    Handler,
    ManagedIdentityClient,
    ManagedIdentityConfigurationError,
    ManagedIdentityError,
    ManagedIdentityNetworkError,
    ManagedIdentityResponseError,
    ManagedIdentitySourceKind,
    MemoryTokenCache,
    Platform,
    TokenRequest,
    TokenSource,
    UserAssignedManagedIdentity,
)
from msal_mi_async._result import AccessTokenResult

from .helpers import NOW, Clock, FakeTime, Recorder, ok

pytestmark = pytest.mark.anyio

ARM = "https://management.azure.com"
LINUX = Platform(system="linux", file_exists=lambda path: False)
APP_SERVICE_ENV = {
    "IDENTITY_ENDPOINT": "http://localhost:8081/msi/token",
    "IDENTITY_HEADER": "hdr-secret",
}


def make_client(
    recorder: Recorder, clock: Clock | None = None, **kwargs: object
) -> ManagedIdentityClient:
    kwargs.setdefault("environ", {})
    kwargs.setdefault("sleep", FakeTime().sleep)  # retries never wait on the wall clock
    return ManagedIdentityClient(
        http_client=recorder.client(),
        token_cache=MemoryTokenCache(clock=clock or Clock()),
        platform=LINUX,
        clock=clock or Clock(),
        **kwargs,  # type: ignore[arg-type]
    )


async def test_imds_request_is_exact_and_result_complete() -> None:
    recorder = Recorder(ok("tok-1", expires_in=3600))
    client = make_client(recorder)
    result = await client.acquire_token(f"{ARM}/.default", correlation_id="corr-1")
    [request] = recorder.requests
    assert request.method == "GET"
    assert str(request.url) == (
        "http://169.254.169.254/metadata/identity/oauth2/token"
        "?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com"
    )
    assert request.headers["Metadata"] == "true"
    assert request.headers["x-ms-client-request-id"] == "corr-1"
    assert "cookie" not in request.headers
    assert result == AccessTokenResult(
        access_token="tok-1",
        token_type="Bearer",
        expires_on=int(NOW) + 3600,
        refresh_on=None,
        resource=ARM,
        token_source=TokenSource.IDENTITY_PROVIDER,
        managed_identity_source=ManagedIdentitySourceKind.IMDS,
        correlation_id="corr-1",
    )
    assert "tok-1" not in repr(result)
    assert "tok-1" not in str(result)


async def test_app_service_request_carries_the_identity_header() -> None:
    recorder = Recorder(ok())
    client = make_client(
        recorder, environ=APP_SERVICE_ENV, identity=UserAssignedManagedIdentity(resource_id="/r/1")
    )
    result = await client.acquire_token(ARM)
    [request] = recorder.requests
    assert str(request.url) == (
        "http://localhost:8081/msi/token?api-version=2019-08-01"
        "&resource=https%3A%2F%2Fmanagement.azure.com&mi_res_id=%2Fr%2F1"
    )
    assert request.headers["X-IDENTITY-HEADER"] == "hdr-secret"
    assert "Metadata" not in request.headers
    assert result.managed_identity_source is ManagedIdentitySourceKind.APP_SERVICE


async def test_second_call_is_a_cache_hit_with_the_original_correlation_id() -> None:
    recorder = Recorder(ok("tok-1"))
    client = make_client(recorder)
    first = await client.acquire_token(ARM, correlation_id="c1")
    second = await client.acquire_token(ARM, correlation_id="c2")
    third = await client.acquire_token(f"{ARM}/.default")
    assert len(recorder.requests) == 1
    assert second.access_token == third.access_token == first.access_token
    assert second.token_source is TokenSource.CACHE
    assert third.token_source is TokenSource.CACHE
    assert second.correlation_id == "c1"
    stats = client.statistics()
    assert (stats.cache_hits, stats.cache_misses, stats.fetches, stats.in_flight) == (2, 1, 1, 0)


async def test_clients_sharing_a_cache_share_tokens_but_identities_do_not() -> None:
    recorder = Recorder(ok("tok-a"), ok("tok-b"))
    cache = MemoryTokenCache(clock=Clock())
    common = {
        "http_client": recorder.client(),
        "token_cache": cache,
        "platform": LINUX,
        "environ": {},
        "clock": Clock(),
    }
    one = ManagedIdentityClient(**common)  # type: ignore[arg-type]
    two = ManagedIdentityClient(**common)  # type: ignore[arg-type]
    other = ManagedIdentityClient(UserAssignedManagedIdentity(client_id="c"), **common)  # type: ignore[arg-type]
    assert (await one.acquire_token(ARM)).access_token == "tok-a"
    assert (await two.acquire_token(ARM)).token_source is TokenSource.CACHE
    assert (await other.acquire_token(ARM)).access_token == "tok-b"
    assert len(recorder.requests) == 2
    assert recorder.requests[1].url.params["client_id"] == "c"


@pytest.mark.parametrize("bypass", [{"force_refresh": True}, {"claims": '{"access_token":{}}'}])
async def test_force_refresh_and_claims_skip_the_cache_and_replace_the_entry(
    bypass: dict[str, object],
) -> None:
    recorder = Recorder(ok("tok-1"), ok("tok-2"))
    client = make_client(recorder)
    await client.acquire_token(ARM)
    refreshed = await client.acquire_token(ARM, **bypass)  # type: ignore[arg-type]
    assert refreshed.access_token == "tok-2"
    assert refreshed.token_source is TokenSource.IDENTITY_PROVIDER
    again = await client.acquire_token(ARM)
    assert (again.access_token, again.token_source) == ("tok-2", TokenSource.CACHE)
    assert len(recorder.requests) == 2


async def test_tokens_within_five_minutes_of_expiry_are_never_served() -> None:
    clock = Clock()
    recorder = Recorder(ok("tok-1", expires_in=3600), ok("tok-2", expires_in=3600, now=NOW + 3301))
    client = make_client(recorder, clock)
    await client.acquire_token(ARM)
    clock.advance(3299)
    assert (await client.acquire_token(ARM)).token_source is TokenSource.CACHE
    clock.advance(2)  # 299 s left
    fresh = await client.acquire_token(ARM)
    assert (fresh.access_token, fresh.token_source) == ("tok-2", TokenSource.IDENTITY_PROVIDER)
    assert len(recorder.requests) == 2


async def test_after_refresh_on_the_cached_token_is_served_while_a_background_refresh_runs() -> (
    None
):
    clock = Clock()
    gate = anyio.Event()
    recorder = Recorder(
        ok("tok-1", expires_in=8 * 3600), ok("tok-2", expires_in=8 * 3600, now=NOW + 4 * 3600)
    )
    client = make_client(recorder, clock)
    first = await client.acquire_token(ARM)
    assert first.refresh_on == int(NOW) + 4 * 3600
    clock.advance(4 * 3600 + 1)
    recorder.gate = gate  # the refresh's HTTP answer waits for the test
    served = [await client.acquire_token(ARM) for _ in range(5)]
    assert {(r.access_token, r.token_source) for r in served} == {("tok-1", TokenSource.CACHE)}
    await anyio.wait_all_tasks_blocked()
    assert len(recorder.requests) == 2  # exactly one background refresh for five callers
    assert client.statistics().in_flight == 1
    gate.set()
    await client._jobs.wait_idle()
    again = await client.acquire_token(ARM)
    assert (again.access_token, again.token_source) == ("tok-2", TokenSource.CACHE)
    assert client.statistics().last_refresh_error is None
    await client.aclose()


async def test_failed_background_refresh_is_recorded_logged_once_and_old_token_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    failure = httpx.Response(403, json={"error": "forbidden", "error_description": "boom"})
    recorder = Recorder(
        ok("tok-1", expires_in=8 * 3600),
        failure,
        ok("tok-3", expires_in=8 * 3600, now=NOW + 4 * 3600 + 31),
    )
    client = make_client(recorder, clock)
    await client.acquire_token(ARM)
    clock.advance(4 * 3600 + 1)
    with caplog.at_level("WARNING", logger="msal_mi_async"):
        served = await client.acquire_token(ARM)
        await client._jobs.wait_idle()
    assert (served.access_token, served.token_source) == ("tok-1", TokenSource.CACHE)
    last_error = client.statistics().last_refresh_error
    assert last_error is not None
    assert "boom" in last_error
    assert [r.getMessage().count("boom") for r in caplog.records] == [1]
    assert "tok-1" not in caplog.text
    # no new refresh for 30 s after a failure; then the next caller starts one
    clock.advance(29)
    assert (await client.acquire_token(ARM)).access_token == "tok-1"
    assert len(client._jobs) == 0
    assert len(recorder.requests) == 2
    clock.advance(1)
    served_again = await client.acquire_token(ARM)
    assert served_again.access_token == "tok-1"
    await client._jobs.wait_idle()
    assert (await client.acquire_token(ARM)).access_token == "tok-3"
    assert len(recorder.requests) == 3
    await client.aclose()


async def test_old_token_is_not_served_past_the_expiry_buffer_while_refresh_fails() -> None:
    clock = Clock()
    failure = httpx.Response(403, json={"error": "forbidden"})
    recorder = Recorder(ok("tok-1", expires_in=8 * 3600), failure)
    client = make_client(recorder, clock)
    await client.acquire_token(ARM)
    clock.advance(8 * 3600 - 299)
    with pytest.raises(ManagedIdentityResponseError):
        await client.acquire_token(ARM)
    await client.aclose()


async def test_aclose_cancels_a_running_background_refresh() -> None:
    clock = Clock()
    recorder = Recorder(ok("tok-1", expires_in=8 * 3600))
    client = make_client(recorder, clock)
    await client.acquire_token(ARM)
    clock.advance(4 * 3600 + 1)
    recorder.gate = anyio.Event()  # never opened: the refresh hangs until cancelled
    await client.acquire_token(ARM)
    await anyio.wait_all_tasks_blocked()
    assert len(client._jobs) == 1
    with anyio.fail_after(5):
        await client.aclose()
    assert len(client._jobs) == 0
    assert client.statistics().in_flight == 0
    assert client.statistics().last_refresh_error is None  # cancelled is not "failed"


async def test_error_response_becomes_managed_identity_error_with_ids() -> None:
    body = {
        "error": "invalid_request",
        "error_description": "Identity not found",
        "correlation_id": "srv-9",
    }
    client = make_client(Recorder(httpx.Response(400, json=body)))
    with pytest.raises(ManagedIdentityResponseError) as info:
        await client.acquire_token(ARM, correlation_id="ours-1")
    error = info.value
    assert error.error_code == ErrorCode.REQUEST_FAILED
    assert error.status_code == 400
    assert error.correlation_id == "ours-1"
    assert error.server_correlation_id == "srv-9"
    assert error.source is ManagedIdentitySourceKind.IMDS
    assert "Identity not found" in str(error)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (httpx.ConnectError("refused"), ErrorCode.UNREACHABLE_NETWORK),
        (httpx.ReadError("reset"), ErrorCode.UNREACHABLE_NETWORK),
        (httpx.ReadTimeout("slow"), ErrorCode.REQUEST_TIMEOUT),
    ],
)
async def test_transport_failures_are_mapped_and_chained(exc: Exception, code: str) -> None:
    client = make_client(Recorder(exc))
    with pytest.raises(ManagedIdentityNetworkError) as info:
        await client.acquire_token(ARM, correlation_id="c-7")
    assert info.value.error_code == code
    assert info.value.correlation_id == "c-7"
    assert info.value.__cause__ is exc


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_redirects_are_refused_naming_the_location_host(code: int) -> None:
    redirect = httpx.Response(code, headers={"Location": "http://evil.example:8080/steal"})
    recorder = Recorder(redirect)
    with pytest.raises(ManagedIdentityResponseError) as info:
        await make_client(recorder, environ=APP_SERVICE_ENV).acquire_token(ARM)
    assert info.value.status_code == code
    assert info.value.error_code == ErrorCode.REQUEST_FAILED
    assert "redirect to 'evil.example'" in str(info.value)
    assert "never followed" in str(info.value)
    assert "hdr-secret" not in str(info.value)
    assert len(recorder.requests) == 1


async def test_identity_header_and_token_never_in_error_text() -> None:
    body = json.dumps({"statusCode": 500, "message": "oops", "correlationId": "s-1"}).encode()
    client = make_client(Recorder(httpx.Response(500, content=body)), environ=APP_SERVICE_ENV)
    with pytest.raises(ManagedIdentityError) as info:
        await client.acquire_token(ARM)
    assert "hdr-secret" not in str(info.value)
    assert "hdr-secret" not in repr(info.value)
    assert info.value.server_correlation_id == "s-1"


async def test_concurrent_cold_callers_share_one_request() -> None:
    gate = anyio.Event()
    recorder = Recorder(ok("tok-1"), gate=gate)
    client = make_client(recorder)
    results: list[AccessTokenResult] = []

    async def caller() -> None:
        results.append(await client.acquire_token(ARM))

    async with anyio.create_task_group() as group:
        for _ in range(1000):
            group.start_soon(caller)
        await anyio.wait_all_tasks_blocked()
        assert client.statistics().in_flight == 1
        gate.set()
    assert len(recorder.requests) == 1
    assert {r.access_token for r in results} == {"tok-1"}
    assert len(results) == 1000
    assert client.statistics().in_flight == 0


async def test_concurrent_callers_all_get_the_leaders_error() -> None:
    gate = anyio.Event()
    recorder = Recorder(httpx.Response(403, json={"error": "forbidden"}), gate=gate)
    client = make_client(recorder)
    errors: list[ManagedIdentityError] = []

    async def caller() -> None:
        try:
            await client.acquire_token(ARM)
        except ManagedIdentityError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(caller)
        await anyio.wait_all_tasks_blocked()
        gate.set()
    assert len(recorder.requests) == 1
    assert len(errors) == 50
    assert {e.status_code for e in errors} == {403}


async def test_cancelled_leader_does_not_strand_waiters() -> None:
    gate = anyio.Event()
    recorder = Recorder(ok("tok-1"), gate=gate)
    client = make_client(recorder)
    results: list[str] = []

    async def waiter() -> None:
        results.append((await client.acquire_token(ARM)).access_token)

    async with anyio.create_task_group() as group:
        leader_scope = anyio.CancelScope()
        group.start_soon(_lead, client, leader_scope)
        await anyio.wait_all_tasks_blocked()
        for _ in range(3):
            group.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        leader_scope.cancel()
        await anyio.wait_all_tasks_blocked()
        gate.set()
    assert results == ["tok-1"] * 3
    assert len(recorder.requests) == 2  # the cancelled leader's, then one new leader's
    assert client.statistics().in_flight == 0


async def _lead(client: ManagedIdentityClient, scope: anyio.CancelScope) -> None:
    with scope:
        await client.acquire_token(ARM)
        raise AssertionError("the leader should have been cancelled")


async def test_user_middleware_sees_every_call_including_cache_hits() -> None:
    seen: list[tuple[str, TokenSource]] = []

    async def record(request: TokenRequest, call_next: Handler) -> AccessTokenResult:
        result = await call_next(request)
        seen.append((request.correlation_id, result.token_source))
        return result

    client = make_client(Recorder(ok()), middleware=[record])
    await client.acquire_token(ARM, correlation_id="a")
    await client.acquire_token(ARM, correlation_id="b")
    assert seen == [("a", TokenSource.IDENTITY_PROVIDER), ("b", TokenSource.CACHE)]


async def test_closed_client_refuses_and_aclose_is_idempotent() -> None:
    recorder = Recorder(ok())
    client = make_client(recorder)
    async with client:
        await client.acquire_token(ARM)
    await client.aclose()
    with pytest.raises(ManagedIdentityConfigurationError) as info:
        await client.acquire_token(ARM)
    assert info.value.error_code == ErrorCode.CLIENT_CLOSED


async def test_timeout_is_a_total_budget() -> None:
    recorder = Recorder(ok(), gate=anyio.Event())  # never answers
    client = make_client(recorder, timeout=0.05)
    with pytest.raises(ManagedIdentityNetworkError) as info:
        await client.acquire_token(ARM, correlation_id="slow-1")
    assert info.value.error_code == ErrorCode.REQUEST_TIMEOUT
    assert info.value.correlation_id == "slow-1"
    assert "0.05 s" in str(info.value)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_event_loop_ending_with_a_refresh_running_ends_it_quietly(backend: str) -> None:
    # No aclose(): the loop's end cancels the refresh job; no warning, no error (the
    # suite turns warnings into errors).
    clock = Clock()

    async def main() -> None:
        recorder = Recorder(ok("tok-1", expires_in=8 * 3600))
        client = make_client(recorder, clock)
        await client.acquire_token(ARM)
        clock.advance(4 * 3600 + 1)
        recorder.gate = anyio.Event()  # the refresh never gets its answer
        await client.acquire_token(ARM)
        await anyio.wait_all_tasks_blocked()
        assert len(client._jobs) == 1

    anyio.run(main, backend=backend)
