"""RedisTokenCache against a real loopback redis-server, on asyncio and trio."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from msal_mi_async import (
    AccessTokenResult,
    ManagedIdentityClient,
    SyncManagedIdentityClient,
    TokenSource,
    UserAssignedManagedIdentity,
)
from msal_mi_async._redis_store import RedisStore, key_name
from msal_mi_async.redis import RedisTokenCache
from tests.helpers import NOW, Clock, Recorder, ok
from tests.redis_server import RedisServer

pytestmark = pytest.mark.anyio

RESOURCE = "https://management.azure.com"
KEY = ("imds", "system_assigned", "", RESOURCE, "Bearer")
CLIENT_ID = "0d2b1c6e-client-id-not-in-key-names"


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


def cache(server: RedisServer, namespace: str, **options: Any) -> RedisTokenCache:
    return RedisTokenCache(server.url, namespace=namespace, clock=Clock(), **options)


def client(
    recorder: Recorder, token_cache: RedisTokenCache, **options: Any
) -> ManagedIdentityClient:
    return ManagedIdentityClient(
        http_client=recorder.client(), token_cache=token_cache, environ={}, clock=Clock(), **options
    )


async def test_a_second_process_gets_the_token_from_redis(
    redis_server: RedisServer, namespace: str
) -> None:
    first, second = Recorder(ok("tok-1")), Recorder(ok("tok-2"))
    fetched = await client(first, cache(redis_server, namespace)).acquire_token(RESOURCE)
    shared = cache(redis_server, namespace)  # a fresh front cache, as in another process
    got = await client(second, shared).acquire_token(RESOURCE)
    assert (len(first.requests), len(second.requests)) == (1, 0)
    assert got.access_token == "tok-1"
    assert got.token_source is TokenSource.CACHE
    assert got.correlation_id == fetched.correlation_id
    assert shared.peek(KEY) is not None  # now answered in-process, no network


async def test_key_names_hide_identity_and_resource_and_ttl_is_expiry_minus_buffer(
    redis_server: RedisServer, namespace: str, raw: redis.Redis
) -> None:
    identity = UserAssignedManagedIdentity(client_id=CLIENT_ID)
    c = client(Recorder(ok("tok-1")), cache(redis_server, namespace), identity=identity)
    await c.acquire_token(RESOURCE)
    names = [n.decode() for n in cast(list[bytes], raw.keys(f"{namespace}:*"))]
    assert names == [key_name(namespace, ("imds", "client_id", CLIENT_ID, RESOURCE, "Bearer"))]
    assert names[0].startswith(f"{namespace}:v1:imds:client_id:")
    assert CLIENT_ID not in names[0]
    assert "azure" not in names[0]
    assert 3299_000 < raw.pttl(names[0]) <= 3300_000  # 3600 s lifetime - 300 s buffer


async def test_tokens_never_cross_identities(redis_server: RedisServer, namespace: str) -> None:
    recorder = Recorder(ok("tok-system"), ok("tok-user"))
    await client(recorder, cache(redis_server, namespace)).acquire_token(RESOURCE)
    identity = UserAssignedManagedIdentity(client_id=CLIENT_ID)
    other = client(recorder, cache(redis_server, namespace), identity=identity)
    assert (await other.acquire_token(RESOURCE)).access_token == "tok-user"
    assert len(recorder.requests) == 2


async def test_force_refresh_never_answers_with_the_shared_entry(
    redis_server: RedisServer, namespace: str
) -> None:
    await client(Recorder(ok("tok-1")), cache(redis_server, namespace)).acquire_token(RESOURCE)
    recorder = Recorder(ok("tok-2"))
    c = client(recorder, cache(redis_server, namespace))
    assert (await c.acquire_token(RESOURCE, force_refresh=True)).access_token == "tok-2"
    later = client(Recorder(ok("unused")), cache(redis_server, namespace))
    assert (await later.acquire_token(RESOURCE)).access_token == "tok-2"
    assert len(recorder.requests) == 1


async def test_an_entry_due_for_refresh_is_refreshed_not_adopted(
    redis_server: RedisServer, namespace: str
) -> None:
    three_hours = ok("tok-1", expires_in=3 * 3600)  # refresh_on after 1.5 h
    await client(Recorder(three_hours), cache(redis_server, namespace)).acquire_token(RESOURCE)
    later = Clock(NOW + 2 * 3600)
    shared = RedisTokenCache(redis_server.url, namespace=namespace, clock=later)
    recorder = Recorder(ok("tok-2", now=later.now))
    c = ManagedIdentityClient(
        http_client=recorder.client(), token_cache=shared, environ={}, clock=later
    )
    assert (await c.acquire_token(RESOURCE)).access_token == "tok-2"
    assert len(recorder.requests) == 1


async def test_a_value_we_did_not_write_is_a_miss(
    redis_server: RedisServer, namespace: str, raw: redis.Redis
) -> None:
    raw.set(key_name(namespace, KEY), b'{"f": 1, "access_token": 3}', px=60_000)
    recorder = Recorder(ok("tok-1"))
    got = await client(recorder, cache(redis_server, namespace)).acquire_token(RESOURCE)
    assert got.access_token == "tok-1"
    assert json.loads(raw.get(key_name(namespace, KEY)) or b"")["access_token"] == "tok-1"


async def test_a_held_lock_is_waited_for_boundedly_then_fetched_directly(
    redis_server: RedisServer, namespace: str, raw: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    raw.set(key_name(namespace, KEY) + ":lock", "someone-else", px=60_000)
    recorder = Recorder(ok("tok-1"))
    shared = cache(redis_server, namespace, wait_timeout=0.0)
    assert (await client(recorder, shared).acquire_token(RESOURCE)).access_token == "tok-1"
    assert len(recorder.requests) == 1
    assert raw.get(key_name(namespace, KEY) + ":lock") == b"someone-else"  # not ours to free
    assert "Waited 0.0 s for another process's token fetch" in caplog.text


def test_the_lock_is_released_only_by_its_owner(
    redis_server: RedisServer, namespace: str, raw: redis.Redis
) -> None:
    store = RedisStore(redis.Redis.from_url(redis_server.url), namespace, lock_ms=60_000)
    token = store.try_lock(KEY)
    assert token is not None
    assert store.try_lock(KEY) is None
    store.release(KEY, "not-the-owner")
    assert raw.get(key_name(namespace, KEY) + ":lock") == token.encode()
    assert 0 < raw.pttl(key_name(namespace, KEY) + ":lock") <= 60_000
    store.release(KEY, token)
    assert raw.exists(key_name(namespace, KEY) + ":lock") == 0
    store.close()


async def test_redis_down_means_direct_fetches_and_one_log_line_without_secrets(
    redis_binary: str, caplog: pytest.LogCaptureFixture
) -> None:
    down = RedisServer(redis_binary, password="hunter2-secret")  # never started
    shared = cache(down, "ns")
    recorder = Recorder(ok("tok-1"), ok("tok-2"))
    c = client(recorder, shared)
    with caplog.at_level(logging.INFO, logger="msal_mi_async"):
        assert (await c.acquire_token(RESOURCE)).access_token == "tok-1"
        await c.acquire_token("https://vault.azure.net")
    assert len(recorder.requests) == 2
    assert not shared.available
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        f"Redis token cache at redis://127.0.0.1:{down.port}/0 is unavailable "
        "(ConnectionError); fetching tokens directly"
    ]
    assert "hunter2" not in caplog.text
    down.close()


async def test_single_flight_still_holds_in_process_when_redis_is_down(
    redis_binary: str,
) -> None:
    import anyio

    down = RedisServer(redis_binary)
    gate = anyio.Event()
    recorder = Recorder(ok("tok-1"), gate=gate)
    c = client(recorder, cache(down, "ns"))
    results: list[str] = []

    async def one() -> None:
        results.append((await c.acquire_token(RESOURCE)).access_token)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(one)
        await anyio.wait_all_tasks_blocked()
        gate.set()
    assert results == ["tok-1"] * 5
    assert len(recorder.requests) == 1
    down.close()


def test_repr_and_logs_never_show_the_password(redis_server: RedisServer) -> None:
    shared = RedisTokenCache(redis_server.url, namespace="ns")
    assert (
        repr(shared)
        == f"RedisTokenCache('redis://127.0.0.1:{redis_server.port}/0', namespace='ns')"
    )
    shared.close()


@pytest.mark.parametrize("bad", ["", "has space", "x" * 65, "curly{}"])
def test_namespace_is_validated(bad: str) -> None:
    with pytest.raises(ValueError, match="namespace must be 1-64 characters"):
        RedisTokenCache(namespace=bad)


def test_a_missing_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError, match=r"pip install 'msal_mi_async\[redis\]'"):
        RedisTokenCache()


def test_the_sync_facade_shares_the_redis_cache(redis_server: RedisServer, namespace: str) -> None:
    first, second = Recorder(ok("tok-1")), Recorder(ok("tok-2"))
    for recorder in (first, second):
        shared = RedisTokenCache(redis_server.url, namespace=namespace)  # real clock, as the client
        with SyncManagedIdentityClient(
            http_client=recorder.client(), token_cache=shared, environ={}
        ) as c:
            assert c.acquire_token(RESOURCE).access_token == "tok-1"
    assert (len(first.requests), len(second.requests)) == (1, 0)


def test_the_base_package_does_not_import_redis() -> None:
    import subprocess

    code = "import msal_mi_async, sys; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_redis_server_tests_skip_unless_ci_requires_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    from tests.redis_server import REQUIRE_FLAG, redis_server_path

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv(REQUIRE_FLAG, raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        redis_server_path()
    monkeypatch.setenv(REQUIRE_FLAG, "1")
    with pytest.raises(pytest.fail.Exception, match="MSAL_MI_REQUIRE_REDIS=1 requires it"):
        redis_server_path()


#: The ACL the README recommends, as ``ACL SETUSER`` arguments.
README_ACL = (
    "on >PASSWORD ~msal_mi_async:* resetchannels -@all +get +set +del +evalsha +script|load +ping"
)


async def test_the_readme_acl_is_enough(
    redis_server: RedisServer, raw: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"ACL SETUSER mi-tokens {README_ACL}`" in readme
    user = f"mi-{uuid.uuid4().hex[:8]}"
    raw.execute_command("ACL", "SETUSER", user, *README_ACL.split())  # type: ignore[no-untyped-call]
    url = f"redis://{user}:PASSWORD@127.0.0.1:{redis_server.port}/0"
    for token, requests in (("tok-1", 1), ("tok-1", 0)):
        shared = RedisTokenCache(url, clock=Clock())
        recorder = Recorder(ok(token))
        assert (await client(recorder, shared).acquire_token(RESOURCE)).access_token == token
        assert len(recorder.requests) == requests
        assert shared.available
    assert "unavailable" not in caplog.text
    assert raw.exists(key_name("msal_mi_async", KEY) + ":lock") == 0
    raw.delete(key_name("msal_mi_async", KEY))


async def test_a_refresh_adopts_the_token_another_process_already_refreshed(
    redis_server: RedisServer, namespace: str
) -> None:
    three_hours = ok("tok-1", expires_in=3 * 3600)  # refresh_on after 1.5 h
    clock = Clock()
    mine = RedisTokenCache(redis_server.url, namespace=namespace, clock=clock)
    await client(Recorder(three_hours), mine).acquire_token(RESOURCE)
    clock.advance(2 * 3600)  # my front entry is now due for refresh
    theirs = RedisTokenCache(redis_server.url, namespace=namespace, clock=clock)
    other = ManagedIdentityClient(
        http_client=Recorder(ok("tok-2", now=clock.now, expires_in=3 * 3600)).client(),
        token_cache=theirs,
        environ={},
        clock=clock,
    )
    assert (await other.acquire_token(RESOURCE)).access_token == "tok-2"

    async def must_not_fetch() -> AccessTokenResult:
        raise AssertionError("fetched although Redis holds a fresh token")

    result, led = await mine.fetch_once(KEY, must_not_fetch)  # what a background refresh does
    assert (result.access_token, led) == ("tok-2", True)
    assert mine.peek(KEY) is not None
    assert mine.peek(KEY).result.access_token == "tok-2"  # type: ignore[union-attr]
