"""``msal-mi detect`` for every environment of protocol.md §1, ``msal-mi emulator
--source X`` for all six sources, and ``msal-mi token`` against Arc and Service Fabric."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from msal_mi_async import ManagedIdentitySourceKind
from msal_mi_async._cli import main
from msal_mi_async.testing import emulated_environment, patched_environ

Kind = ManagedIdentitySourceKind
URL = "http://127.0.0.1:8081/token"
THUMBPRINT = "ab" * 20

DETECT = [
    (
        {
            "IDENTITY_ENDPOINT": "https://127.0.0.1:2377/t",
            "IDENTITY_HEADER": "h",
            "IDENTITY_SERVER_THUMBPRINT": THUMBPRINT,
        },
        Kind.SERVICE_FABRIC,
    ),
    ({"IDENTITY_ENDPOINT": URL, "IDENTITY_HEADER": "h"}, Kind.APP_SERVICE),
    ({"MSI_ENDPOINT": URL, "MSI_SECRET": "s"}, Kind.MACHINE_LEARNING),
    ({"MSI_ENDPOINT": URL}, Kind.CLOUD_SHELL),
    ({"IDENTITY_ENDPOINT": URL, "IMDS_ENDPOINT": "http://127.0.0.1:40342"}, Kind.AZURE_ARC),
    ({}, Kind.IMDS),
]


@pytest.mark.parametrize(("env", "kind"), DETECT)
def test_detect_names_each_source(
    env: dict[str, str], kind: Kind, capsys: pytest.CaptureFixture[str]
) -> None:
    with patched_environ(env):
        assert main(["detect"]) == 0
    out, err = capsys.readouterr()
    assert out == f"{kind.value}\n"
    assert err.startswith(f"why: {kind.value} at ")


def test_detect_refuses_service_fabric_over_http(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"IDENTITY_ENDPOINT": URL, "IDENTITY_HEADER": "h", "IDENTITY_SERVER_THUMBPRINT": "ab"}
    with patched_environ(env):
        assert main(["detect"]) == 1
    assert "invalid_managed_identity_endpoint" in capsys.readouterr().err


EXPORTS = {
    Kind.IMDS: ["AZURE_POD_IDENTITY_AUTHORITY_HOST"],
    Kind.APP_SERVICE: ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"],
    Kind.MACHINE_LEARNING: ["MSI_ENDPOINT", "MSI_SECRET"],
    Kind.CLOUD_SHELL: ["MSI_ENDPOINT"],
    Kind.AZURE_ARC: ["IDENTITY_ENDPOINT", "IMDS_ENDPOINT"],
    Kind.SERVICE_FABRIC: ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT"],
}


def _read_lines(process: subprocess.Popen[bytes], count: int, timeout: float = 30) -> list[str]:
    """The first ``count`` lines of output, without blocking past ``timeout``."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n") < count:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no output in {timeout} s; got {data!r}"
        chunk = os.read(fd, 65536)
        assert chunk, f"the emulator exited; got {data!r}"
        data += chunk
    return data.decode().splitlines()[:count]


@pytest.mark.parametrize("kind", list(Kind))
def test_emulator_prints_the_exports_for_each_source(kind: Kind) -> None:
    command = [sys.executable, "-m", "msal_mi_async", "emulator", "--source", kind.value]
    extra = 2 if kind is Kind.AZURE_ARC else 0
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=os.environ
    )
    try:
        lines = _read_lines(process, len(EXPORTS[kind]) + extra)
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: the emulator stops and cleans up
        process.wait(timeout=30)
        assert process.stdout is not None
        process.stdout.close()
    names = [line.split("=", 1)[0].removeprefix("export ") for line in lines[: len(lines) - extra]]
    assert names == EXPORTS[kind]
    if kind is Kind.SERVICE_FABRIC:
        assert lines[0].startswith("export IDENTITY_ENDPOINT=https://127.0.0.1:")
        assert len(lines[2].split("=", 1)[1]) == 40
    if kind is Kind.AZURE_ARC:
        token_dir = lines[-1].split("--arc-token-dir ", 1)[1]
        assert token_dir.startswith("/")
        assert not os.path.exists(token_dir)  # removed when the emulator stopped
    assert process.returncode == 0


def test_token_against_the_arc_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    with emulated_environment(Kind.AZURE_ARC) as emu:
        argv = ["token", "https://vault.azure.net", "--arc-token-dir", emu.arc_token_dir]
        assert main(argv) == 0
        assert emu.request_count == 2
        assert "authorization" in emu.requests[1].headers
    assert capsys.readouterr().out.count(".") == 2


def test_token_against_the_service_fabric_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    with emulated_environment(Kind.SERVICE_FABRIC) as emu:
        assert main(["token", "https://vault.azure.net", "--json"]) == 0
        assert emu.request_count == 1
    assert '"source": "service_fabric"' in capsys.readouterr().out
