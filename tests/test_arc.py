"""Azure Arc: the challenge flow by hand, the echo check, and the key-file attack cases."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from msal_mi_async import (
    AzureArcSource,
    ErrorCode,
    HttpRequest,
    HttpResponse,
    ManagedIdentityClient,
    ManagedIdentityConfigurationError,
    ManagedIdentityError,
    ManagedIdentityResponseError,
    MemoryTokenCache,
    Platform,
    ReadKeyFile,
    SystemAssignedManagedIdentity,
    TokenRequest,
    UserAssignedManagedIdentity,
)
from msal_mi_async._arc_keyfile import MAX_KEY_BYTES, ArcKeyFileReader, arc_token_dir
from msal_mi_async._identity import ManagedIdentity

from .helpers import NOW, Recorder, ok, token_body

ENDPOINT = "http://127.0.0.1:40342/metadata/identity/oauth2/token"
ARM = "https://management.azure.com"
KEY = "arc-key-0123456789abcdef0123456789abcdef"
ENV = {"IDENTITY_ENDPOINT": ENDPOINT, "IMDS_ENDPOINT": "http://127.0.0.1:40342"}


SYSTEM = SystemAssignedManagedIdentity()


def _request(identity: ManagedIdentity = SYSTEM) -> TokenRequest:
    return TokenRequest(ARM, identity, AzureArcSource(ENDPOINT), "cid")


def challenge(path: str) -> HttpResponse:
    return HttpResponse(401, {"WWW-Authenticate": f"Basic realm={path}"}, b"{}")


# The flow, driven by hand ---------------------------------------------------------------


def test_challenge_then_key_then_same_request_with_basic_key() -> None:
    flow = AzureArcSource(ENDPOINT).flow(_request())
    first = next(flow)
    assert first == HttpRequest(
        "GET",
        ENDPOINT,
        params=(("api-version", "2020-06-01"), ("resource", ARM)),
        headers=(("Metadata", "true"),),
    )
    assert flow.send(challenge("/var/opt/azcmagent/tokens/a.key")) == ReadKeyFile(
        "/var/opt/azcmagent/tokens/a.key"
    )
    second = flow.send(KEY)
    assert second == first.with_header("Authorization", f"Basic {KEY}")
    assert KEY not in repr(second)
    final = HttpResponse(200, {}, token_body())
    with pytest.raises(StopIteration) as done:
        flow.send(final)
    assert done.value.value is final


def test_a_direct_200_on_the_first_leg_is_the_answer() -> None:
    flow = AzureArcSource(ENDPOINT).flow(_request())
    next(flow)
    final = HttpResponse(200, {}, token_body())
    with pytest.raises(StopIteration) as done:
        flow.send(final)
    assert done.value.value is final


@pytest.mark.parametrize(
    "response",
    [
        HttpResponse(401, {}, b"{}"),
        HttpResponse(401, {"WWW-Authenticate": "Bearer realm=/x.key"}, b"{}"),
        HttpResponse(401, {"WWW-Authenticate": "Basic realm="}, b"{}"),
        HttpResponse(500, {}, b'{"error":"server_error","error_description":"down"}'),
        HttpResponse(404, {"WWW-Authenticate": "Basic realm=/var/x.key"}, b"{}"),
    ],
)
def test_anything_but_a_basic_challenge_fails_the_first_leg(response: HttpResponse) -> None:
    flow = AzureArcSource(ENDPOINT).flow(_request())
    next(flow)
    with pytest.raises(ManagedIdentityResponseError) as info:
        flow.send(response)
    assert info.value.error_code == ErrorCode.REQUEST_FAILED
    assert info.value.status_code == response.status_code


def test_quoted_realm_is_unquoted() -> None:
    flow = AzureArcSource(ENDPOINT).flow(_request())
    next(flow)
    step = flow.send(challenge('"/var/opt/azcmagent/tokens/q.key"'))
    assert step == ReadKeyFile("/var/opt/azcmagent/tokens/q.key")


# User-assigned echo (fail closed) --------------------------------------------------------

UA_CASES = [
    (UserAssignedManagedIdentity(client_id="CID-1"), {"client_id": "cid-1"}, True),
    (UserAssignedManagedIdentity(client_id="cid-1"), {"client_id": "cid-2"}, False),
    (UserAssignedManagedIdentity(client_id="cid-1"), {}, False),
    (UserAssignedManagedIdentity(resource_id="/Sub/X"), {"msi_res_id": "/sub/x"}, True),
    (UserAssignedManagedIdentity(resource_id="/sub/x"), {"mi_res_id": "/SUB/X"}, True),
    (UserAssignedManagedIdentity(resource_id="/sub/x"), {"client_id": "/sub/x"}, False),
    (UserAssignedManagedIdentity(object_id="oid"), {"object_id": "OID"}, True),
    (UserAssignedManagedIdentity(object_id="oid"), {"object_id": 7}, False),
]


@pytest.mark.parametrize(("identity", "echo", "accepted"), UA_CASES)
def test_user_assigned_echo_is_confirmed_or_the_token_refused(
    identity: ManagedIdentity, echo: dict[str, object], accepted: bool
) -> None:
    body = {**json.loads(token_body("secret-token")), **echo}
    response = HttpResponse(200, {}, json.dumps(body).encode())
    source = AzureArcSource(ENDPOINT)
    if accepted:
        assert source.parse_response(response, _request(identity), NOW).access_token
        return
    with pytest.raises(ManagedIdentityResponseError) as info:
        source.parse_response(response, _request(identity), NOW)
    assert info.value.error_code == ErrorCode.REQUEST_FAILED
    assert "did not confirm" in str(info.value)
    assert "secret-token" not in str(info.value)


def test_system_assigned_needs_no_echo() -> None:
    response = HttpResponse(200, {}, token_body())
    assert AzureArcSource(ENDPOINT).parse_response(response, _request(), NOW).access_token


# Key files: the attack cases, end to end through the client ------------------------------


@pytest.fixture
def token_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tokens"
    folder.mkdir()
    return folder


def good_key(token_dir: Path) -> str:
    path = token_dir / "good.key"
    path.write_text(KEY)
    return str(path)


def _symlink_out(token_dir: Path) -> str:
    outside = token_dir.parent / "outside.key"
    outside.write_text(KEY)
    (token_dir / "link.key").symlink_to(outside)
    return str(token_dir / "link.key")


def _dot_dot(token_dir: Path) -> str:
    (token_dir.parent / "up.key").write_text(KEY)
    return f"{token_dir}/../up.key"


def _wrong_dir(token_dir: Path) -> str:
    other = token_dir.parent / "other"
    other.mkdir()
    (other / "x.key").write_text(KEY)
    return str(other / "x.key")


def _sub_dir(token_dir: Path) -> str:
    (token_dir / "sub").mkdir()
    (token_dir / "sub" / "x.key").write_text(KEY)
    return str(token_dir / "sub" / "x.key")


def _wrong_extension(token_dir: Path) -> str:
    (token_dir / "x.txt").write_text(KEY)
    return str(token_dir / "x.txt")


def _oversized(token_dir: Path) -> str:
    (token_dir / "big.key").write_text("k" * (MAX_KEY_BYTES + 1))
    return str(token_dir / "big.key")


def _directory(token_dir: Path) -> str:
    (token_dir / "dir.key").mkdir()
    return str(token_dir / "dir.key")


def _missing(token_dir: Path) -> str:
    return str(token_dir / "missing.key")


def _relative(token_dir: Path) -> str:
    return "good.key"


def _binary(token_dir: Path) -> str:
    (token_dir / "bin.key").write_bytes(b"\x00\xffkey\r\nInjected: yes")
    return str(token_dir / "bin.key")


def _empty(token_dir: Path) -> str:
    (token_dir / "empty.key").write_bytes(b"")
    return str(token_dir / "empty.key")


def _fifo(token_dir: Path) -> str:
    os.mkfifo(token_dir / "fifo.key")
    return str(token_dir / "fifo.key")


ATTACKS: dict[str, Callable[[Path], str]] = {
    "symlink out of the directory": _symlink_out,
    "dot-dot": _dot_dot,
    "wrong directory": _wrong_dir,
    "sub-directory": _sub_dir,
    "wrong extension": _wrong_extension,
    "oversized": _oversized,
    "a directory": _directory,
    "missing": _missing,
    "relative path": _relative,
    "not printable": _binary,
    "empty": _empty,
    "fifo": _fifo,
}


def arc_client(recorder: Recorder, token_dir: Path) -> ManagedIdentityClient:
    return ManagedIdentityClient(
        environ=ENV,
        http_client=recorder.client(),
        token_cache=MemoryTokenCache(),
        read_key_file=ArcKeyFileReader(token_dir=str(token_dir)),
    )


def challenge_response(path: str) -> httpx.Response:
    return httpx.Response(401, headers={"WWW-Authenticate": f"Basic realm={path}"}, json={})


@pytest.mark.anyio
@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_key_file_attacks_are_refused_and_no_key_is_sent(
    token_dir: Path, attack: str
) -> None:
    good_key(token_dir)  # a valid key exists: it must not be read in its place
    path = ATTACKS[attack](token_dir)
    recorder = Recorder(challenge_response(path), ok())
    async with arc_client(recorder, token_dir) as client:
        with pytest.raises(ManagedIdentityError) as info:
            await client.acquire_token(ARM)
    assert info.value.error_code == ErrorCode.REQUEST_FAILED
    assert len(recorder.requests) == 1
    assert "authorization" not in recorder.requests[0].headers
    assert KEY not in str(info.value)


@pytest.mark.anyio
async def test_a_valid_key_file_is_sent_as_basic(token_dir: Path) -> None:
    recorder = Recorder(challenge_response(good_key(token_dir)), ok())
    async with arc_client(recorder, token_dir) as client:
        result = await client.acquire_token(ARM)
    first, second = recorder.requests
    assert second.url == first.url
    assert second.headers["authorization"] == f"Basic {KEY}"
    assert "authorization" not in first.headers
    assert result.access_token == "tok-1"


@pytest.mark.anyio
async def test_a_symlink_inside_the_directory_and_exactly_4096_bytes_are_fine(
    token_dir: Path,
) -> None:
    (token_dir / "real.key").write_text("k" * MAX_KEY_BYTES)
    (token_dir / "alias.key").symlink_to(token_dir / "real.key")
    reader = ArcKeyFileReader(token_dir=str(token_dir))
    assert await reader(ReadKeyFile(str(token_dir / "alias.key"))) == "k" * MAX_KEY_BYTES


@pytest.mark.anyio
async def test_permission_denied_names_the_himds_group(
    token_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = good_key(token_dir)

    def denied(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ManagedIdentityConfigurationError) as info:
        await ArcKeyFileReader(token_dir=str(token_dir))(ReadKeyFile(path))
    assert "himds" in str(info.value)
    assert "elevated" in str(info.value)


def test_fixed_token_directories() -> None:
    linux = Platform(system="linux")
    assert arc_token_dir(linux, {}) == "/var/opt/azcmagent/tokens"
    windows = Platform(system="win32")
    expected = "D:\\PD\\AzureConnectedMachineAgent\\Tokens"
    assert arc_token_dir(windows, {"ProgramData": "D:\\PD"}) == expected


@pytest.mark.anyio
async def test_other_platforms_are_not_supported() -> None:
    reader = ArcKeyFileReader(Platform(system="darwin"))
    with pytest.raises(ManagedIdentityConfigurationError, match="not supported"):
        await reader(ReadKeyFile("/var/opt/azcmagent/tokens/a.key"))


@pytest.mark.anyio
async def test_the_default_reader_uses_the_fixed_directory(token_dir: Path) -> None:
    path = good_key(token_dir)  # valid for token_dir, but not the agent's directory
    recorder = Recorder(challenge_response(path), ok())
    client = ManagedIdentityClient(
        environ=ENV,
        http_client=recorder.client(),
        token_cache=MemoryTokenCache(),
        platform=Platform(system="linux", file_exists=lambda _: False),
    )
    async with client:
        with pytest.raises(ManagedIdentityError, match="/var/opt/azcmagent/tokens"):
            await client.acquire_token(ARM)
    assert len(recorder.requests) == 1
