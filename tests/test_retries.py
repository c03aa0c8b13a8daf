"""Retries per source, the per-attempt timeout and the total deadline (protocol.md §7)."""

from __future__ import annotations

import email.utils

import anyio
import attrs
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msal_mi_async import (
    ErrorCode,
    ManagedIdentityClient,
    ManagedIdentityError,
    ManagedIdentityNetworkError,
    ManagedIdentityResponseError,
    MemoryTokenCache,
    Platform,
    RetryPolicy,
    SyncManagedIdentityClient,
)
from msal_mi_async._http import HttpResponse
from msal_mi_async._retry import parse_retry_after

from .helpers import NOW, Clock, FakeTime, Recorder, ok

ARM = "https://management.azure.com"
LINUX = Platform(system="linux", file_exists=lambda path: False)
APP_SERVICE_ENV = {"IDENTITY_ENDPOINT": "http://localhost:8081/msi/token", "IDENTITY_HEADER": "h"}
STEADY_IMDS = attrs.evolve(RetryPolicy.imds(), wait_jitter=0.0)
STEADY_DEFAULT = attrs.evolve(RetryPolicy.default(), wait_jitter=0.0)


def status(code: int, **headers: str) -> httpx.Response:
    return httpx.Response(code, headers=headers, json={"error": f"e{code}"})


def make_client(recorder: Recorder, time: FakeTime, **kwargs: object) -> ManagedIdentityClient:
    kwargs.setdefault("environ", {})
    return ManagedIdentityClient(
        http_client=recorder.client(),
        token_cache=MemoryTokenCache(clock=Clock()),
        platform=LINUX,
        clock=Clock(),
        sleep=time.sleep,
        monotonic=time,
        **kwargs,  # type: ignore[arg-type]
    )


# The pure policy ---------------------------------------------------------------------


def waits(policy: RetryPolicy, statuses: list[int], **headers: str) -> list[float | None]:
    first = statuses[0]
    return [
        policy.next_wait(HttpResponse(code, headers), attempts_made=n, first_status=first, now=NOW)
        for n, code in enumerate(statuses, start=1)
    ]


def test_imds_backs_off_one_two_four_then_gives_up() -> None:
    assert waits(STEADY_IMDS, [500, 503, 429, 404]) == [1.0, 2.0, 4.0, None]


@pytest.mark.parametrize("code", [404, 408, 410, 429, 500, 501, 505, 599])
def test_imds_retries_its_statuses(code: int) -> None:
    assert STEADY_IMDS.retries(HttpResponse(code))


@pytest.mark.parametrize("code", [200, 302, 400, 401, 403, 409])
def test_nothing_else_is_retried(code: int) -> None:
    assert STEADY_IMDS.next_wait(HttpResponse(code), attempts_made=1, first_status=code) is None
    assert STEADY_DEFAULT.next_wait(HttpResponse(code), attempts_made=1, first_status=code) is None


def test_400_401_403_are_never_retried_even_when_listed() -> None:
    policy = attrs.evolve(STEADY_IMDS, statuses={400, 401, 403, 500})
    assert [policy.retries(HttpResponse(code)) for code in (400, 401, 403, 500)] == [
        False,
        False,
        False,
        True,
    ]


def test_a_first_410_keeps_imds_retrying_for_at_least_seventy_seconds() -> None:
    schedule = waits(STEADY_IMDS, [410, 500, 410, 410, 410, 410, 410, 410])
    assert schedule == [10.0] * 7 + [None]
    assert sum(w for w in schedule if w is not None) >= 70


def test_a_later_410_does_not_extend_the_schedule() -> None:
    assert waits(STEADY_IMDS, [500, 410, 410, 410]) == [1.0, 2.0, 4.0, None]


@pytest.mark.parametrize("code", [404, 408, 429, 500, 502, 503, 504])
def test_other_sources_retry_their_statuses_at_least_one_second_apart(code: int) -> None:
    assert waits(STEADY_DEFAULT, [code] * 4) == [1.0, 1.0, 1.0, None]


@pytest.mark.parametrize("code", [410, 501, 505])
def test_other_sources_do_not_retry_the_rest(code: int) -> None:
    assert waits(STEADY_DEFAULT, [code]) == [None]


def test_retry_after_seconds_and_date_are_honoured_and_capped() -> None:
    date = email.utils.formatdate(NOW + 7, usegmt=True)
    assert waits(STEADY_DEFAULT, [429], **{"Retry-After": "5"}) == [5.0]
    assert waits(STEADY_DEFAULT, [503], **{"Retry-After": date}) == [7.0]
    assert waits(STEADY_DEFAULT, [429], **{"Retry-After": "0"}) == [1.0]  # max(1 s, …)
    assert waits(STEADY_IMDS, [429], **{"Retry-After": "3"}) == [3.0]  # everywhere
    assert waits(STEADY_DEFAULT, [429], **{"Retry-After": "86400"}) == [60.0]


def test_network_errors_are_retried_unless_disabled() -> None:
    error = ManagedIdentityNetworkError("x", error_code=ErrorCode.UNREACHABLE_NETWORK)
    timeout = ManagedIdentityNetworkError("x", error_code=ErrorCode.REQUEST_TIMEOUT)
    assert STEADY_DEFAULT.next_wait(error, attempts_made=1, first_status=None) == 1.0
    assert STEADY_IMDS.next_wait(timeout, attempts_made=2, first_status=None) == 2.0
    no_network = attrs.evolve(STEADY_IMDS, network_errors=False)
    assert no_network.next_wait(error, attempts_made=1, first_status=None) is None


def test_jitter_is_added_within_bounds() -> None:
    import random

    policy = attrs.evolve(STEADY_IMDS, wait_jitter=0.5)
    rng = random.Random(7)
    drawn = [
        policy.next_wait(HttpResponse(500), attempts_made=1, first_status=500, rng=rng)
        for _ in range(50)
    ]
    assert all(w is not None and 1.0 <= w <= 1.5 for w in drawn)
    assert len(set(drawn)) > 1


def test_policy_timeout_none_and_testing_switch() -> None:
    assert waits(attrs.evolve(STEADY_IMDS, timeout=2.5), [500, 500]) == [1.0, 2.0]
    capped = attrs.evolve(STEADY_IMDS, timeout=2.5)
    third = capped.next_wait(HttpResponse(500), attempts_made=2, first_status=500, elapsed=1.0)
    assert third is None
    assert waits(RetryPolicy.none(), [500]) == [None]
    assert waits(STEADY_IMDS.without_waiting(), [410, 500, 503]) == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("-5", 0.0),
        ("2.5", 2.5),
        (" 12 ", 12.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:28:00", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_policy_values_are_validated() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="wait_initial"):
        RetryPolicy(wait_initial=-1)


# The loop in the client -------------------------------------------------------------


@pytest.mark.anyio
async def test_imds_transient_failures_are_retried_then_succeed() -> None:
    time = FakeTime()
    recorder = Recorder(status(500), status(503), status(429), ok("tok-1"))
    client = make_client(recorder, time, retry_policy=STEADY_IMDS)
    result = await client.acquire_token(ARM)
    assert result.access_token == "tok-1"
    assert len(recorder.requests) == 4
    assert time.sleeps == [1.0, 2.0, 4.0]
    ids = {r.headers["x-ms-client-request-id"] for r in recorder.requests}
    assert ids == {result.correlation_id}


@pytest.mark.anyio
async def test_default_imds_policy_applies_when_none_is_given() -> None:
    time = FakeTime()
    recorder = Recorder(status(500), ok("tok-1"))
    await make_client(recorder, time).acquire_token(ARM)
    [wait] = time.sleeps
    assert 1.0 <= wait <= 1.5
    assert len(recorder.requests) == 2


@pytest.mark.anyio
async def test_exhausted_retries_raise_with_attempts_and_elapsed() -> None:
    time = FakeTime()
    recorder = Recorder(status(503))
    client = make_client(recorder, time, retry_policy=STEADY_IMDS)
    with pytest.raises(ManagedIdentityResponseError) as info:
        await client.acquire_token(ARM)
    assert len(recorder.requests) == 4
    assert (info.value.attempts, info.value.elapsed) == (4, 7.0)
    assert info.value.status_code == 503
    assert "attempts=4, elapsed=7.0s" in str(info.value)


@pytest.mark.anyio
async def test_imds_410_retries_for_seventy_seconds() -> None:
    time = FakeTime()
    recorder = Recorder(status(410))
    client = make_client(recorder, time, retry_policy=STEADY_IMDS)
    with pytest.raises(ManagedIdentityResponseError) as info:
        await client.acquire_token(ARM)
    assert len(recorder.requests) == 8
    assert time.sleeps == [10.0] * 7
    assert info.value.attempts == 8


@pytest.mark.anyio
@pytest.mark.parametrize("code", [400, 401, 403])
async def test_client_errors_are_sent_once(code: int) -> None:
    time = FakeTime()
    recorder = Recorder(status(code))
    with pytest.raises(ManagedIdentityResponseError) as info:
        await make_client(recorder, time).acquire_token(ARM)
    assert len(recorder.requests) == 1
    assert time.sleeps == []
    assert info.value.attempts == 1


@pytest.mark.anyio
async def test_app_service_waits_for_retry_after() -> None:
    time = FakeTime()
    recorder = Recorder(status(429, **{"Retry-After": "3"}), status(502), ok("tok-1"))
    client = make_client(recorder, time, environ=APP_SERVICE_ENV, retry_policy=STEADY_DEFAULT)
    assert (await client.acquire_token(ARM)).access_token == "tok-1"
    assert time.sleeps == [3.0, 1.0]


@pytest.mark.anyio
async def test_app_service_default_does_not_retry_501() -> None:
    time = FakeTime()
    recorder = Recorder(status(501))
    with pytest.raises(ManagedIdentityResponseError):
        await make_client(recorder, time, environ=APP_SERVICE_ENV).acquire_token(ARM)
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_connection_errors_are_retried_and_the_last_one_raised() -> None:
    time = FakeTime()
    refused = httpx.ConnectError("refused")
    recorder = Recorder(refused)
    client = make_client(recorder, time, retry_policy=STEADY_IMDS)
    with pytest.raises(ManagedIdentityNetworkError) as info:
        await client.acquire_token(ARM)
    assert info.value.error_code == ErrorCode.UNREACHABLE_NETWORK
    assert info.value.__cause__ is refused
    assert (len(recorder.requests), info.value.attempts) == (4, 4)


@pytest.mark.anyio
async def test_retry_policy_none_sends_once() -> None:
    time = FakeTime()
    recorder = Recorder(status(500))
    client = make_client(recorder, time, retry_policy=RetryPolicy.none())
    with pytest.raises(ManagedIdentityResponseError):
        await client.acquire_token(ARM)
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_the_deadline_wins_over_the_retry_schedule() -> None:
    time = FakeTime()
    recorder = Recorder(status(500))
    client = make_client(recorder, time, retry_policy=STEADY_IMDS, timeout=2.5)
    with pytest.raises(ManagedIdentityResponseError) as info:
        await client.acquire_token(ARM)
    assert time.sleeps == [1.0]  # waiting 2 s more would pass the 2.5 s deadline
    assert (len(recorder.requests), info.value.attempts, info.value.elapsed) == (2, 2, 1.0)


@pytest.mark.anyio
async def test_per_call_timeout_overrides_the_clients() -> None:
    time = FakeTime()
    recorder = Recorder(status(500))
    client = make_client(recorder, time, retry_policy=STEADY_IMDS, timeout=600)
    with pytest.raises(ManagedIdentityResponseError):
        await client.acquire_token(ARM, timeout=1.5)
    assert time.sleeps == [1.0]


@pytest.mark.anyio
async def test_a_hung_attempt_times_out_and_is_retried() -> None:
    time = FakeTime()
    recorder = Recorder(ok(), gate=anyio.Event())  # never answers
    client = make_client(recorder, time, retry_policy=STEADY_IMDS, attempt_timeout=0.01)
    with pytest.raises(ManagedIdentityNetworkError) as info:
        await client.acquire_token(ARM)
    assert info.value.error_code == ErrorCode.REQUEST_TIMEOUT
    assert "0.01 s allowed for one attempt" in str(info.value)
    assert (len(recorder.requests), info.value.attempts) == (4, 4)


@pytest.mark.anyio
async def test_total_deadline_cuts_a_hung_attempt_and_reports_attempts() -> None:
    time = FakeTime()
    recorder = Recorder(ok(), gate=anyio.Event())
    client = make_client(recorder, time, attempt_timeout=None)
    with pytest.raises(ManagedIdentityNetworkError) as info:
        await client.acquire_token(ARM, timeout=0.02, correlation_id="c-1")
    assert info.value.error_code == ErrorCode.REQUEST_TIMEOUT
    assert "0.02 s budget" in str(info.value)
    assert (info.value.attempts, info.value.correlation_id) == (1, "c-1")
    assert client.statistics().in_flight == 0


@pytest.mark.anyio
async def test_cancellation_during_a_retry_wait_propagates_and_leaves_nothing() -> None:
    recorder = Recorder(status(500))
    blocked = anyio.Event()

    async def sleep_forever(seconds: float) -> None:
        blocked.set()
        await anyio.Event().wait()

    client = ManagedIdentityClient(
        http_client=recorder.client(),
        token_cache=MemoryTokenCache(),
        platform=LINUX,
        environ={},
        sleep=sleep_forever,
    )
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:
            group.start_soon(client.acquire_token, ARM)
            await blocked.wait()
            assert client.statistics().in_flight == 1
            scope.cancel()
    assert scope.cancelled_caught
    assert client.statistics().in_flight == 0
    assert len(recorder.requests) == 1


def test_sync_facade_honours_both_timeouts() -> None:
    recorder = Recorder(ok(), gate=anyio.Event())  # never answers
    with SyncManagedIdentityClient(
        http_client=recorder.client(),
        token_cache=MemoryTokenCache(),
        platform=LINUX,
        environ={},
        retry_policy=RetryPolicy.none(),
        attempt_timeout=0.2,  # far from the 0.005 s budget below: no race between the two
    ) as client:
        with pytest.raises(ManagedIdentityNetworkError) as attempt:
            client.acquire_token(ARM)
        with pytest.raises(ManagedIdentityError) as total:
            client.acquire_token(ARM, timeout=0.005)
    assert "allowed for one attempt" in str(attempt.value)
    assert "0.005 s budget" in str(total.value)


@settings(max_examples=300, deadline=None)
@given(
    code=st.integers(min_value=100, max_value=599),
    retry_after=st.one_of(st.none(), st.text(max_size=40), st.floats().map(str)),
    made=st.integers(min_value=1, max_value=20),
    first=st.one_of(st.none(), st.integers(min_value=100, max_value=599)),
    now=st.floats(min_value=0, max_value=4e9),
)
def test_any_answer_gives_a_bounded_wait_or_gives_up(
    code: int, retry_after: str | None, made: int, first: int | None, now: float
) -> None:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    for policy in (RetryPolicy.imds(), RetryPolicy.default()):
        wait = policy.next_wait(
            HttpResponse(code, headers), attempts_made=made, first_status=first, now=now
        )
        longest = max(policy.gone_wait, policy.wait_max, policy.retry_after_max)
        assert wait is None or 0.0 <= wait <= longest + policy.wait_jitter
        if code in (400, 401, 403) or made >= 8:
            assert wait is None
