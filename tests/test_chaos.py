"""Chaos: seeded faults from the emulator under many concurrent callers (tasks and threads).

Run ``pytest tests/test_chaos.py -s -q`` to see the figures.  Every fault is chosen by a
``random.Random`` seeded with (SEED, request path and query, how many times that exact
request was seen), so each key meets the same sequence of faults on every run; waits
between retries are recorded, not slept, so the suite takes seconds.  What is asserted
holds whatever the thread scheduling: no expired token, the right audience and identity
on every token, only ``ManagedIdentityError`` escapes, and the requests stay within
the retry budget.
"""

from __future__ import annotations

import base64
import collections
import json
import random
import threading

import anyio
import anyio.lowlevel
import attrs
import pytest

from msal_mi_async import (
    AccessTokenResult,
    ManagedIdentityClient,
    ManagedIdentityError,
    MemoryTokenCache,
    Platform,
    RetryPolicy,
    SyncManagedIdentityClient,
    SystemAssignedManagedIdentity,
    UserAssignedManagedIdentity,
)
from msal_mi_async.emulator import Emulator, Fault, RecordedRequest

from .helpers import Clock

SEED = 20261127
TASKS, THREADS, ROUNDS = 16, 6, 100
STEP = 2.0  # virtual seconds the wall clock moves after each acquisition
LIFETIME, REFRESH_IN = 900, 450
ATTEMPT_TIMEOUT = 0.25
RESOURCES = (
    "https://management.azure.com",
    "https://vault.azure.net",
    "https://storage.azure.com",
    "https://graph.microsoft.com",
)
LINUX = Platform(system="linux", file_exists=lambda path: False)

#: (name, weight, fault or None); "slow" answers normally after a short delay.
FAULTS: tuple[tuple[str, int, Fault | None], ...] = (
    ("none", 52, None),
    ("500", 8, Fault(status=500)),
    ("502", 4, Fault(status=502)),
    ("503", 5, Fault(status=503)),
    ("404", 2, Fault(status=404)),
    ("429+retry_after", 7, Fault(status=429, retry_after="2")),
    ("410", 3, Fault(status=410)),
    ("reset", 5, Fault(drop_connection=True)),
    ("timeout", 1, Fault(status=200, delay=3.0)),
    ("non_json", 3, Fault(bad_body=True)),
    ("slow", 10, Fault(status=200, delay=0.005)),
)
_WEIGHTS = [weight for _, weight, _ in FAULTS]


class ChaosPicker:
    """Picks a seeded fault for every token request: the same key meets the same faults."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._seen: collections.Counter[str] = collections.Counter()
        self.injected: collections.Counter[str] = collections.Counter()

    def __call__(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            key = f"{request.path}?{sorted(request.query.items())}"
            rng = random.Random(f"{self._seed}:{key}:{self._seen[key]}")
            self._seen[key] += 1
            name, _, fault = rng.choices(FAULTS, weights=_WEIGHTS)[0]
            if fault is not None:
                self.injected[name] += 1
            return fault


@attrs.define
class Tally:
    """What the callers saw; list.append and Counter updates happen under a lock."""

    lock: threading.Lock = attrs.Factory(threading.Lock)
    acquisitions: int = 0
    tokens: int = 0
    errors: collections.Counter[str] = attrs.Factory(collections.Counter)
    escaped: list[BaseException] = attrs.Factory(list)
    problems: list[str] = attrs.Factory(list)
    min_margin: float = float("inf")
    waits: list[float] = attrs.Factory(list)


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return decoded


def check(
    tally: Tally, clock: Clock, result: AccessTokenResult, resource: str, client_id: str
) -> None:
    now = clock()
    claims = claims_of(result.access_token)
    with tally.lock:
        tally.tokens += 1
        tally.min_margin = min(tally.min_margin, result.expires_on - now)
        if not result.expires_on > now:
            tally.problems.append(f"expired token served: expires_on={result.expires_on}")
        if claims["exp"] != result.expires_on:
            tally.problems.append("exp claim and expires_on disagree")
        if (claims["aud"], claims["appid"]) != (resource, client_id):
            tally.problems.append(f"wrong token: {claims['aud']}/{claims['appid']}")
        if result.resource != resource:
            tally.problems.append("wrong result.resource")


def record_outcome(tally: Tally, error: BaseException | None) -> None:
    with tally.lock:
        tally.acquisitions += 1
        if isinstance(error, ManagedIdentityError):
            tally.errors[error.error_code] += 1
        elif error is not None:
            tally.escaped.append(error)


def plan(seed: str) -> list[tuple[str, bool]]:
    rng = random.Random(seed)
    return [(rng.choice(RESOURCES), rng.random() < 0.12) for _ in range(ROUNDS)]


@pytest.mark.anyio
async def test_chaos(anyio_backend: str) -> None:
    clock = Clock()
    tally = Tally()
    cache = MemoryTokenCache(clock=clock)

    async def no_wait(seconds: float) -> None:
        tally.waits.append(seconds)
        await anyio.lowlevel.checkpoint()

    picker = ChaosPicker(SEED)
    emu = Emulator(clock=clock, token_lifetime=LIFETIME, refresh_in=REFRESH_IN, fault_picker=picker)
    with emu:
        system_id = emu.system_assigned.client_id  # type: ignore[union-attr]
        user_id = emu.user_assigned[0].client_id
        identities = (
            (SystemAssignedManagedIdentity(), system_id),
            (UserAssignedManagedIdentity(client_id=user_id), user_id),
        )
        common = {
            "token_cache": cache,
            "platform": LINUX,
            "clock": clock,
            "sleep": no_wait,
            "attempt_timeout": ATTEMPT_TIMEOUT,
        }
        imds_clients = [
            (ManagedIdentityClient(identity, environ=emu.env("imds"), **common), cid)  # type: ignore[arg-type]
            for identity, cid in identities
        ]
        app_clients = [
            (SyncManagedIdentityClient(identity, environ=emu.env("app_service"), **common), cid)
            for identity, cid in identities
        ]

        async def task(number: int) -> None:
            client, client_id = imds_clients[number % 2]
            for resource, force in plan(f"{SEED}:task:{number}"):
                error: BaseException | None = None
                try:
                    result = await client.acquire_token(resource, force_refresh=force)
                    check(tally, clock, result, resource, client_id)
                except Exception as exc:
                    error = exc
                record_outcome(tally, error)
                clock.advance(STEP)
                await anyio.lowlevel.checkpoint()

        def thread(number: int) -> None:
            client, client_id = app_clients[number % 2]
            for resource, force in plan(f"{SEED}:thread:{number}"):
                error: BaseException | None = None
                try:
                    result = client.acquire_token(resource, force_refresh=force)
                    check(tally, clock, result, resource, client_id)
                except Exception as exc:
                    error = exc
                record_outcome(tally, error)
                clock.advance(STEP)

        workers = [threading.Thread(target=thread, args=(n,)) for n in range(THREADS)]
        for worker in workers:
            worker.start()
        async with anyio.create_task_group() as group:
            for number in range(TASKS):
                group.start_soon(task, number)
        for worker in workers:
            await anyio.to_thread.run_sync(worker.join)
        for client, _ in imds_clients:
            await client.aclose()
        for sync_client, _ in app_clients:
            await anyio.to_thread.run_sync(sync_client.close)
        requests = emu.request_count
        injected = dict(picker.injected)

    imds_fetches = sum(client.statistics().fetches for client, _ in imds_clients)
    app_fetches = sum(client.statistics().fetches for client, _ in app_clients)
    imds_attempts = max(RetryPolicy.imds().attempts, RetryPolicy.imds().gone_attempts or 0)
    budget = imds_fetches * imds_attempts + app_fetches * RetryPolicy.default().attempts
    print(
        f"\nchaos[{anyio_backend}] seed={SEED}: acquisitions={tally.acquisitions} "
        f"tokens={tally.tokens} fetches={imds_fetches + app_fetches} "
        f"requests={requests} (budget {budget}) faults={sum(injected.values())} "
        f"{dict(sorted(injected.items()))} errors={sum(tally.errors.values())} "
        f"{dict(sorted(tally.errors.items()))} retry_waits={len(tally.waits)} "
        f"({sum(tally.waits):.0f} s not slept) min_margin={tally.min_margin:.0f} s"
    )
    assert tally.acquisitions == (TASKS + THREADS) * ROUNDS
    assert tally.escaped == []
    assert tally.problems == []
    assert tally.tokens + sum(tally.errors.values()) == tally.acquisitions
    assert requests <= budget
    assert sum(injected.values()) > 0
    assert cache.in_flight == 0
