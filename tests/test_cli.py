"""The msal-mi command line, called in-process through main()."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from msal_mi_async import ManagedIdentitySourceKind
from msal_mi_async._cli import main
from msal_mi_async.testing import emulated_environment, patched_environ


def test_detect_names_the_source_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    with patched_environ(
        {"IDENTITY_ENDPOINT": "http://127.0.0.1:9/msi", "IDENTITY_HEADER": "s3cret"}
    ):
        assert main(["detect"]) == 0
    out, err = capsys.readouterr()
    assert out == "app_service\n"
    assert "IDENTITY_ENDPOINT and IDENTITY_HEADER are set" in err
    assert "s3cret" not in out + err


def test_detect_reports_an_invalid_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    with patched_environ({"MSI_ENDPOINT": "not-a-url"}):
        assert main(["detect"]) == 1
    assert "invalid_managed_identity_endpoint" in capsys.readouterr().err


def test_token_json_against_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    with emulated_environment(ManagedIdentitySourceKind.APP_SERVICE) as emu:
        assert main(["token", "https://vault.azure.net/.default", "--json"]) == 0
        assert emu.request_count == 1
        assert emu.requests[0].query["resource"] == "https://vault.azure.net"
    printed = json.loads(capsys.readouterr().out)
    assert printed["resource"] == "https://vault.azure.net"
    assert printed["source"] == "app_service"
    assert printed["tokenType"] == "Bearer"
    assert printed["accessToken"].count(".") == 2


def test_token_prints_only_the_token_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    with emulated_environment() as emu:
        assert (
            main(
                [
                    "token",
                    "https://storage.azure.com",
                    "--client-id",
                    emu.user_assigned[0].client_id or "",
                ]
            )
            == 0
        )
        assert emu.requests[0].query["client_id"] == emu.user_assigned[0].client_id
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.count(".") == 2


def test_token_failure_exits_1_with_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    with patched_environ({"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:1"}):
        assert main(["token", "https://management.azure.com", "--no-retry"]) == 1
    err = capsys.readouterr().err
    assert "managed_identity_unreachable_network" in err


def test_bad_resource_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", ".default"]) == 2
    assert "https://management.azure.com/.default" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "msal_mi_async", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    for command in ("token", "detect", "emulator", "demo"):
        assert command in done.stdout


def test_demo_shows_one_request_per_herd(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--tasks", "200", "--threads", "16"]) == 0
    out = capsys.readouterr().out
    assert (
        "200 concurrent tasks, cold cache: 1 request(s) at the endpoint, 1 distinct token(s)" in out
    )
    assert "16 threads via SyncManagedIdentityClient: 1 request(s), 1 distinct token(s)" in out
    assert "total requests at the emulator: 3" in out
