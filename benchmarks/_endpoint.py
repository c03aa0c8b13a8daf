"""The emulator in its own process, like a real IMDS: the clients' threads do not share
its interpreter lock, so no client is slowed by the server's work."""

from __future__ import annotations

import json
import subprocess
import sys
from types import TracebackType

_SERVER = """
import json, sys
from msal_mi_async import ManagedIdentitySourceKind
from msal_mi_async.emulator import Emulator
with Emulator() as emu:
    print(json.dumps(emu.env(ManagedIdentitySourceKind.IMDS)), flush=True)
    for line in sys.stdin:
        if line.strip() != "count":
            break
        print(emu.request_count, flush=True)
"""


class EmulatorProcess:
    """``with EmulatorProcess() as emu``: ``emu.env`` and ``emu.request_count``."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        self.env: dict[str, str] = json.loads(self._proc.stdout.readline())

    @property
    def request_count(self) -> int:
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.write("count\n")
        self._proc.stdin.flush()
        return int(self._proc.stdout.readline())

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)
