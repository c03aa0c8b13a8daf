"""Fork safety: a child process can acquire tokens right after os.fork()."""

from __future__ import annotations

import os
import signal
import warnings

import pytest

from msal_mi_async import MemoryTokenCache, Platform, RetryPolicy, SyncManagedIdentityClient
from msal_mi_async.emulator import Emulator

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX fork")

ARM = "https://management.azure.com"
LINUX = Platform(system="linux", file_exists=lambda path: False)


def _fork_while_holding_locks(client: SyncManagedIdentityClient, cache: MemoryTokenCache) -> int:
    # Locks held by the parent at fork time stay held in the child unless reset.
    flights = cache._flights
    with cache._lock, flights._lock, client._portal._lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        return os.fork()


def _child(client: SyncManagedIdentityClient, write_fd: int) -> None:
    signal.alarm(20)  # a deadlocked child must not hang the test run
    cached = client.acquire_token(ARM)  # the parent's token, reused
    fresh = client.acquire_token(ARM, force_refresh=True)  # a new portal loop in the child
    client.close()
    report = f"{cached.token_source.value} {fresh.token_source.value}"
    os.write(write_fd, report.encode())


def test_a_forked_child_acquires_tokens() -> None:
    cache = MemoryTokenCache()
    with Emulator() as emu:
        client = SyncManagedIdentityClient(
            environ=emu.env("imds"),
            token_cache=cache,
            platform=LINUX,
            retry_policy=RetryPolicy.none(),
        )
        client.acquire_token(ARM, force_refresh=True)  # starts the parent's portal thread
        read_fd, write_fd = os.pipe()
        pid = _fork_while_holding_locks(client, cache)
        if pid == 0:  # the child: never return into pytest
            code = 1
            try:
                _child(client, write_fd)
                code = 0
            except BaseException as exc:  # report anything, then leave
                os.write(write_fd, repr(exc).encode()[:500])
            finally:
                os._exit(code)
        os.close(write_fd)
        _, status = os.waitpid(pid, 0)
        with os.fdopen(read_fd) as pipe:
            report = pipe.read()
        assert os.waitstatus_to_exitcode(status) == 0, report
        assert report == "cache identity_provider"
        assert emu.request_count == 2
        assert client.acquire_token(ARM).resource == ARM  # the parent is unaffected
        client.close()
