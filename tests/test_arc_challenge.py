"""The Arc challenge parser: exact paths for good headers, ManagedIdentityError otherwise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msal_mi_async import ErrorCode, ManagedIdentityResponseError, ManagedIdentitySourceKind
from msal_mi_async._sources._arc_challenge import parse_basic_realm

LINUX_KEY = "/var/opt/azcmagent/tokens/8d1b2c.key"
WINDOWS_KEY = "C:\\ProgramData\\AzureConnectedMachineAgent\\Tokens\\8d1b2c.key"


@pytest.mark.parametrize(
    ("header", "path"),
    [
        (f"Basic realm={LINUX_KEY}", LINUX_KEY),
        (f"basic REALM={LINUX_KEY}", LINUX_KEY),
        (f"  Basic   realm = {LINUX_KEY}  ", LINUX_KEY),
        (f'Basic realm="{LINUX_KEY}"', LINUX_KEY),
        (f"Basic realm={WINDOWS_KEY}", WINDOWS_KEY),
        ("Basic realm=/var/opt/x y.key", "/var/opt/x y.key"),
    ],
)
def test_realm_is_the_key_path(header: str, path: str) -> None:
    assert parse_basic_realm(header) == path


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "Bearer realm=/x.key",
        "Basic",
        "Basic realm=",
        'Basic realm=""',
        "Basic realm=/x\x00.key",
        "Basicrealm=/x.key",
        "Digest realm=/x.key",
        "realm=/x.key",
    ],
)
def test_anything_else_is_request_failed(header: str | None) -> None:
    with pytest.raises(ManagedIdentityResponseError) as info:
        parse_basic_realm(header)
    assert info.value.error_code == ErrorCode.REQUEST_FAILED
    assert info.value.source is ManagedIdentitySourceKind.AZURE_ARC
    assert info.value.status_code == 401


def test_long_header_is_cut_in_the_message() -> None:
    with pytest.raises(ManagedIdentityResponseError) as info:
        parse_basic_realm("Negotiate " + "x" * 10_000)
    assert len(str(info.value)) < 400


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(), st.text().map(lambda t: "Basic realm=" + t)))
def test_arbitrary_headers_give_a_path_or_a_managed_identity_error(header: str | None) -> None:
    try:
        path = parse_basic_realm(header)
    except ManagedIdentityResponseError as exc:
        code = exc.error_code
        assert code == ErrorCode.REQUEST_FAILED
    else:
        assert path
        assert path == path.strip()
        assert path.isprintable()
