"""A throwaway ``redis-server`` on loopback for tests: free port, no persistence."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

REQUIRE_FLAG = "MSAL_MI_REQUIRE_REDIS"


def redis_server_path() -> str:
    """The ``redis-server`` binary; skips the test (or fails, under the CI flag) if absent."""
    path = shutil.which("redis-server")
    if path is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get(REQUIRE_FLAG) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_FLAG}=1 requires it")
        pytest.skip(reason)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """``redis-server`` on 127.0.0.1, started by :meth:`start` and killed by :meth:`stop`."""

    def __init__(self, binary: str, password: str | None = None) -> None:
        self._binary = binary
        self._password = password
        self._dir = tempfile.TemporaryDirectory(prefix="msal-mi-redis-")
        self.port = _free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self._password}@" if self._password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [self._binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", self._dir.name]
        if self._password:
            args += ["--requirepass", self._password]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)  # polling a child process's readiness, not test logic
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()
