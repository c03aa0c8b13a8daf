"""The optional IMDS probe middleware for credential chains."""

from __future__ import annotations

import httpx
import pytest

from msal_mi_async import (
    ErrorCode,
    ManagedIdentityClient,
    ManagedIdentityNetworkError,
    MemoryTokenCache,
    Platform,
    RetryPolicy,
    imds_probe,
)
from msal_mi_async._probe import ImdsProbe

from .helpers import Clock, FakeTime, Recorder, ok

pytestmark = pytest.mark.anyio

ARM = "https://management.azure.com"
LINUX = Platform(system="linux", file_exists=lambda path: False)
APP_SERVICE_ENV = {"IDENTITY_ENDPOINT": "http://localhost:8081/msi/token", "IDENTITY_HEADER": "h"}
DOCKER_403 = httpx.Response(403, text="connecting to 169.254.169.254:80: ... unreachable host")


def make(
    probe_answers: Recorder, token_answers: Recorder, time: FakeTime, **kwargs: object
) -> tuple[ManagedIdentityClient, ImdsProbe]:
    probe = imds_probe(http_client=probe_answers.client(), clock=time, cooldown=30)
    assert isinstance(probe, ImdsProbe)
    client = ManagedIdentityClient(
        http_client=token_answers.client(),
        token_cache=MemoryTokenCache(clock=Clock()),
        platform=LINUX,
        environ=kwargs.pop("environ", {}),  # type: ignore[arg-type]
        clock=Clock(),
        middleware=[probe],
        retry_policy=RetryPolicy.none(),
    )
    return client, probe


@pytest.mark.parametrize(
    "answer", [httpx.Response(400, json={"error": "bad"}), httpx.Response(403, text="no"), ok()]
)
async def test_any_http_answer_means_available_and_is_remembered(answer: httpx.Response) -> None:
    time = FakeTime()
    probes, tokens = Recorder(answer), Recorder(ok("tok-1"))
    client, probe = make(probes, tokens, time)
    assert (await client.acquire_token(ARM)).access_token == "tok-1"
    await client.acquire_token(ARM, force_refresh=True)
    [sent] = probes.requests
    assert "Metadata" not in sent.headers
    assert sent.url.params["resource"] == ARM
    assert probe.probes_sent == 1
    assert len(tokens.requests) == 2


@pytest.mark.parametrize("failure", [httpx.ConnectError("no route"), DOCKER_403])
async def test_unavailable_fails_fast_then_reprobes_after_the_cooldown(
    failure: httpx.Response | Exception,
) -> None:
    time = FakeTime()
    probes, tokens = Recorder(failure, ok()), Recorder(ok("tok-1"))
    client, probe = make(probes, tokens, time)
    for _ in range(3):
        with pytest.raises(ManagedIdentityNetworkError) as info:
            await client.acquire_token(ARM)
        assert info.value.error_code == ErrorCode.ALL_SOURCES_UNAVAILABLE
        assert "IMDS is not available" in str(info.value)
    assert (probe.probes_sent, len(tokens.requests)) == (1, 0)
    time.now += 30
    assert (await client.acquire_token(ARM)).access_token == "tok-1"
    assert (probe.probes_sent, len(tokens.requests)) == (2, 1)


async def test_other_sources_are_not_probed() -> None:
    time = FakeTime()
    probes, tokens = Recorder(httpx.ConnectError("x")), Recorder(ok("tok-1"))
    client, probe = make(probes, tokens, time, environ=APP_SERVICE_ENV)
    assert (await client.acquire_token(ARM)).access_token == "tok-1"
    assert probe.probes_sent == 0
    assert probes.requests == []


async def test_a_silent_endpoint_is_unavailable_after_the_short_timeout() -> None:
    import anyio

    probes = Recorder(ok(), gate=anyio.Event())  # never answers
    probe = ImdsProbe(http_client=probes.client(), timeout=0.01, clock=FakeTime())
    client = ManagedIdentityClient(
        http_client=Recorder(ok()).client(),
        token_cache=MemoryTokenCache(),
        platform=LINUX,
        environ={},
        middleware=[probe],
    )
    with pytest.raises(ManagedIdentityNetworkError) as info:
        await client.acquire_token(ARM)
    assert info.value.error_code == ErrorCode.ALL_SOURCES_UNAVAILABLE
    assert len(probes.requests) == 1
