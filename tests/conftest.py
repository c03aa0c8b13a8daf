"""Shared fixtures: every async test runs on asyncio and trio; the environment is clean."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from msal_mi_async.testing import MANAGED_IDENTITY_VARIABLES

if TYPE_CHECKING:
    from tests.redis_server import RedisServer

pytest_plugins = ["pytester"]

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the managed-identity or proxy variables of the machine it runs on."""
    for name in MANAGED_IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="session")
def redis_binary() -> str:
    """``redis-server``; tests needing it skip without it (fail with MSAL_MI_REQUIRE_REDIS=1)."""
    from tests.redis_server import redis_server_path

    return redis_server_path()


@pytest.fixture(scope="session")
def redis_server(redis_binary: str) -> Iterator[RedisServer]:
    """One loopback redis-server for the session; tests keep apart by namespace."""
    from tests.redis_server import RedisServer

    server = RedisServer(redis_binary, password="pw-not-in-logs").start()
    yield server
    server.close()
