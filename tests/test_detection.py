"""Detection is a pure function of (environment, platform, source order): protocol.md §1."""

from __future__ import annotations

import pytest

from msal_mi_async import (
    ErrorCode,
    ImdsSource,
    ManagedIdentityClient,
    ManagedIdentityConfigurationError,
    ManagedIdentitySourceKind,
    Platform,
)
from msal_mi_async._sources import DEFAULT_SOURCES, detect_source

Kind = ManagedIdentitySourceKind
NO_FILES = Platform(system="linux", file_exists=lambda path: False)
ARC_AGENT = Platform(system="linux", file_exists=lambda path: path == "/opt/azcmagent/bin/himds")
URL = "http://localhost:8081/token"

DETECTION_TABLE = [
    (
        {
            "IDENTITY_ENDPOINT": "https://sf:2377/t",
            "IDENTITY_HEADER": "h",
            "IDENTITY_SERVER_THUMBPRINT": "ab" * 20,
        },
        Kind.SERVICE_FABRIC,
    ),
    ({"IDENTITY_ENDPOINT": URL, "IDENTITY_HEADER": "h"}, Kind.APP_SERVICE),
    ({"IDENTITY_ENDPOINT": URL, "IDENTITY_HEADER": "h", "IMDS_ENDPOINT": URL}, Kind.APP_SERVICE),
    ({"MSI_ENDPOINT": URL, "MSI_SECRET": "s"}, Kind.MACHINE_LEARNING),
    ({"MSI_ENDPOINT": URL}, Kind.CLOUD_SHELL),
    ({"MSI_ENDPOINT": URL, "MSI_SECRET": "   "}, Kind.CLOUD_SHELL),
    ({"IDENTITY_ENDPOINT": URL, "IMDS_ENDPOINT": "http://localhost:40342"}, Kind.AZURE_ARC),
    ({"IDENTITY_ENDPOINT": URL}, Kind.IMDS),
    ({"IDENTITY_ENDPOINT": URL, "IDENTITY_HEADER": ""}, Kind.IMDS),
    ({"IMDS_ENDPOINT": URL}, Kind.IMDS),
    ({}, Kind.IMDS),
]


@pytest.mark.parametrize(("env", "kind"), DETECTION_TABLE)
def test_detection_table(env: dict[str, str], kind: ManagedIdentitySourceKind) -> None:
    assert detect_source(env, DEFAULT_SOURCES, NO_FILES).kind is kind


def test_arc_is_detected_by_its_agent_binary_alone() -> None:
    source = detect_source({}, DEFAULT_SOURCES, ARC_AGENT)
    assert source.kind is Kind.AZURE_ARC
    assert source.endpoint == "http://127.0.0.1:40342/metadata/identity/oauth2/token"  # type: ignore[attr-defined]
    assert "/opt/azcmagent/bin/himds" in source.describe()


def test_arc_agent_on_windows_uses_program_files() -> None:
    seen: list[str] = []

    def exists(path: str) -> bool:
        seen.append(path)
        return True

    platform = Platform(system="win32", file_exists=exists)
    source = detect_source({"ProgramFiles": "D:\\PF"}, DEFAULT_SOURCES, platform)
    assert source.kind is Kind.AZURE_ARC
    assert seen == ["D:\\PF\\AzureConnectedMachineAgent\\himds.exe"]


def test_imds_honours_pod_identity_host_without_trailing_slash() -> None:
    env = {"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://10.0.0.1:2579/"}
    source = detect_source(env, DEFAULT_SOURCES, NO_FILES)
    assert source == ImdsSource(endpoint="http://10.0.0.1:2579/metadata/identity/oauth2/token")


def test_default_imds_endpoint() -> None:
    source = detect_source({}, DEFAULT_SOURCES, NO_FILES)
    assert source == ImdsSource(endpoint="http://169.254.169.254/metadata/identity/oauth2/token")


@pytest.mark.parametrize(
    "bad", ["localhost:8081/msi", "ftp://host/x", "http://", "not a url", "http://h:99999/x"]
)
def test_invalid_endpoint_names_the_variable_never_the_secret(bad: str) -> None:
    env = {"IDENTITY_ENDPOINT": bad, "IDENTITY_HEADER": "super-secret-header"}
    with pytest.raises(ManagedIdentityConfigurationError) as info:
        detect_source(env, DEFAULT_SOURCES, NO_FILES)
    assert info.value.error_code == ErrorCode.INVALID_ENDPOINT
    assert info.value.source is Kind.APP_SERVICE
    assert "IDENTITY_ENDPOINT" in str(info.value)
    assert "super-secret-header" not in str(info.value)
    assert "super-secret-header" not in repr(info.value)


def test_a_source_list_without_fallback_fails_clearly() -> None:
    with pytest.raises(ManagedIdentityConfigurationError) as info:
        detect_source({}, [], NO_FILES)
    assert info.value.error_code == ErrorCode.ALL_SOURCES_UNAVAILABLE


def test_secrets_stay_out_of_source_reprs() -> None:
    env = {"IDENTITY_ENDPOINT": URL, "IDENTITY_HEADER": "hdr-secret-123"}
    source = detect_source(env, DEFAULT_SOURCES, NO_FILES)
    assert "hdr-secret-123" not in repr(source)
    assert "hdr-secret-123" not in source.describe()
    env = {"MSI_ENDPOINT": URL, "MSI_SECRET": "msi-secret-456"}
    assert "msi-secret-456" not in repr(detect_source(env, DEFAULT_SOURCES, NO_FILES))


@pytest.mark.anyio
async def test_client_reads_the_environment_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ManagedIdentityClient(platform=NO_FILES)
    assert await client.get_managed_identity_source() is Kind.IMDS
    monkeypatch.setenv("IDENTITY_ENDPOINT", URL)
    monkeypatch.setenv("IDENTITY_HEADER", "h")
    assert await client.get_managed_identity_source() is Kind.APP_SERVICE
    await client.aclose()
