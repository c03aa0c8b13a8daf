"""Service Fabric, Cloud Shell and Machine Learning flows driven by hand (no loop, no
server), the selector table as a table, and Service Fabric's configuration checks."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from msal_mi_async import (
    CloudShellSource,
    ErrorCode,
    HttpRequest,
    HttpResponse,
    MachineLearningSource,
    ManagedIdentityConfigurationError,
    ManagedIdentitySource,
    ManagedIdentitySourceKind,
    Platform,
    ServiceFabricSource,
    SystemAssignedManagedIdentity,
    TokenRequest,
    UserAssignedManagedIdentity,
)
from msal_mi_async._identity import IdentityKind, ManagedIdentity
from msal_mi_async._sources import DEFAULT_SOURCES, detect_source
from msal_mi_async._sources._selectors import SELECTOR_TABLE, Refuse, check_selector

Kind = ManagedIdentitySourceKind
ARM = "https://management.azure.com"
SF_URL = "https://localhost:2377/metadata/identity/oauth2/token"
THUMBPRINT = "0123456789abcdef0123456789abcdef01234567"
SYSTEM = SystemAssignedManagedIdentity()
NO_FILES = Platform(system="linux", file_exists=lambda _: False)
BY = {
    IdentityKind.CLIENT_ID: UserAssignedManagedIdentity(client_id="cid-1"),
    IdentityKind.RESOURCE_ID: UserAssignedManagedIdentity(resource_id="/sub/rg/uami"),
    IdentityKind.OBJECT_ID: UserAssignedManagedIdentity(object_id="oid-1"),
}


def _request(
    source: ManagedIdentitySource, identity: ManagedIdentity = SYSTEM, **extra: Any
) -> TokenRequest:
    return TokenRequest(ARM, identity, source, "cid", **extra)


def _only_request(source: ManagedIdentitySource, request: TokenRequest) -> HttpRequest:
    flow = source.flow(request)
    step = next(flow)
    assert isinstance(step, HttpRequest)
    final = HttpResponse(200, {}, b"{}")
    with pytest.raises(StopIteration) as done:
        flow.send(final)
    assert done.value.value is final
    return step


# The selector table ---------------------------------------------------------------------

EXPECTED_TABLE = {
    Kind.IMDS: ("client_id", "msi_res_id", "object_id"),
    Kind.APP_SERVICE: ("client_id", "mi_res_id", "object_id"),
    Kind.AZURE_ARC: ("client_id", "msi_res_id", "object_id"),
    Kind.SERVICE_FABRIC: (
        ErrorCode.USER_ASSIGNED_NOT_CONFIGURABLE_AT_RUNTIME,
        ErrorCode.USER_ASSIGNED_NOT_CONFIGURABLE_AT_RUNTIME,
        "principalId",
    ),
    Kind.MACHINE_LEARNING: ("clientid", ErrorCode.INVALID_ID_TYPE, ErrorCode.INVALID_ID_TYPE),
    Kind.CLOUD_SHELL: (ErrorCode.USER_ASSIGNED_NOT_SUPPORTED,) * 3,
}
COLUMNS = (IdentityKind.CLIENT_ID, IdentityKind.RESOURCE_ID, IdentityKind.OBJECT_ID)


def test_the_table_covers_every_source_and_selector() -> None:
    assert set(SELECTOR_TABLE) == set(Kind)
    for kind, row in SELECTOR_TABLE.items():
        outcome = tuple(
            rule.code if isinstance(rule, Refuse) else rule
            for rule in (row[column] for column in COLUMNS)
        )
        assert outcome == EXPECTED_TABLE[kind], kind


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("column", COLUMNS)
def test_check_selector_follows_the_table(kind: Kind, column: IdentityKind) -> None:
    expected = EXPECTED_TABLE[kind][COLUMNS.index(column)]
    if expected in (
        ErrorCode.USER_ASSIGNED_NOT_CONFIGURABLE_AT_RUNTIME,
        ErrorCode.INVALID_ID_TYPE,
        ErrorCode.USER_ASSIGNED_NOT_SUPPORTED,
    ):
        with pytest.raises(ManagedIdentityConfigurationError) as info:
            check_selector(kind, BY[column])
        assert info.value.error_code == expected
        assert info.value.source is kind
    else:
        assert check_selector(kind, BY[column]) == expected
    assert check_selector(kind, SYSTEM) is None


# Service Fabric -------------------------------------------------------------------------


def sf() -> ServiceFabricSource:
    return ServiceFabricSource(SF_URL, "sf-secret", THUMBPRINT)


def test_service_fabric_request() -> None:
    step = _only_request(sf(), _request(sf()))
    assert step == HttpRequest(
        "GET",
        SF_URL,
        params=(("api-version", "2019-07-01-preview"), ("resource", ARM)),
        headers=(("secret", "sf-secret"),),
        tls_thumbprint=THUMBPRINT,
    )
    assert "sf-secret" not in repr(step)
    assert "sf-secret" not in repr(sf())


def test_service_fabric_object_id_is_sent_as_principal_id() -> None:
    step = _only_request(sf(), _request(sf(), BY[IdentityKind.OBJECT_ID]))
    assert step.params[-1] == ("principalId", "oid-1")


@pytest.mark.parametrize("column", [IdentityKind.CLIENT_ID, IdentityKind.RESOURCE_ID])
def test_service_fabric_refuses_other_selectors_before_any_request(column: IdentityKind) -> None:
    with pytest.raises(ManagedIdentityConfigurationError) as info:
        next(sf().flow(_request(sf(), BY[column])))
    assert info.value.error_code == ErrorCode.USER_ASSIGNED_NOT_CONFIGURABLE_AT_RUNTIME


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, ()),
        ({"claims": "{}"}, ()),
        ({"claims": "{}", "previous_token": "old"}, ("token_sha256_to_refresh",)),
        ({"claims": "{}", "client_capabilities": ("cp1",)}, ("xms_cc",)),
        ({"previous_token": "old", "client_capabilities": ("cp1",)}, ()),
        (
            {"claims": "{}", "previous_token": "old", "client_capabilities": ("cp1", "cp2")},
            ("token_sha256_to_refresh", "xms_cc"),
        ),
    ],
)
def test_service_fabric_claims_parameters(extra: dict[str, Any], expected: tuple[str]) -> None:
    step = _only_request(sf(), _request(sf(), **extra))
    sent = dict(step.params[2:])
    assert tuple(sent) == expected
    if "token_sha256_to_refresh" in sent:
        assert sent["token_sha256_to_refresh"] == hashlib.sha256(b"old").hexdigest()
    if "xms_cc" in sent:
        assert sent["xms_cc"] == ",".join(extra["client_capabilities"])


@pytest.mark.parametrize(
    "raw",
    [
        THUMBPRINT.upper(),
        ":".join(THUMBPRINT[i : i + 2] for i in range(0, 40, 2)),
        " ".join(THUMBPRINT[i : i + 8] for i in range(0, 40, 8)),
        f"{THUMBPRINT[:20]}\r\n{THUMBPRINT[20:]}\n",
    ],
)
def test_thumbprint_is_normalised(raw: str) -> None:
    assert ServiceFabricSource(SF_URL, "s", raw).thumbprint == THUMBPRINT


@pytest.mark.parametrize("raw", ["ab", THUMBPRINT + "0", "g" * 40, THUMBPRINT[:-1] + "-"])
def test_malformed_thumbprint_is_refused(raw: str) -> None:
    env = {"IDENTITY_ENDPOINT": SF_URL, "IDENTITY_HEADER": "s", "IDENTITY_SERVER_THUMBPRINT": raw}
    with pytest.raises(ManagedIdentityConfigurationError, match="IDENTITY_SERVER_THUMBPRINT"):
        detect_source(env, DEFAULT_SOURCES, NO_FILES)


def test_http_endpoint_is_refused_naming_the_variable() -> None:
    env = {
        "IDENTITY_ENDPOINT": "http://localhost:2377/token",
        "IDENTITY_HEADER": "sf-secret",
        "IDENTITY_SERVER_THUMBPRINT": THUMBPRINT,
    }
    with pytest.raises(ManagedIdentityConfigurationError) as info:
        detect_source(env, DEFAULT_SOURCES, NO_FILES)
    assert info.value.error_code == ErrorCode.INVALID_ENDPOINT
    assert "IDENTITY_ENDPOINT" in str(info.value)
    assert "https" in str(info.value)
    assert "sf-secret" not in str(info.value)


# Cloud Shell ----------------------------------------------------------------------------


def test_cloud_shell_posts_a_form() -> None:
    source = CloudShellSource("http://localhost:50342/oauth2/token")
    step = _only_request(source, _request(source))
    assert step == HttpRequest(
        "POST",
        "http://localhost:50342/oauth2/token",
        headers=(("Metadata", "true"),),
        form=(("resource", ARM),),
    )


@pytest.mark.parametrize("column", COLUMNS)
def test_cloud_shell_refuses_user_assigned_before_any_request(column: IdentityKind) -> None:
    source = CloudShellSource("http://localhost:50342/oauth2/token")
    with pytest.raises(ManagedIdentityConfigurationError) as info:
        next(source.flow(_request(source, BY[column])))
    assert info.value.error_code == ErrorCode.USER_ASSIGNED_NOT_SUPPORTED


# Machine Learning -----------------------------------------------------------------------

ML_URL = "http://localhost:46808/msi/token"


@pytest.mark.parametrize(
    ("default_client_id", "identity", "selector"),
    [
        (None, SYSTEM, ()),
        ("dflt", SYSTEM, (("clientid", "dflt"),)),
        ("dflt", BY[IdentityKind.CLIENT_ID], (("clientid", "cid-1"),)),
        (None, BY[IdentityKind.CLIENT_ID], (("clientid", "cid-1"),)),
    ],
)
def test_machine_learning_request(
    default_client_id: str | None, identity: ManagedIdentity, selector: tuple[tuple[str, str]]
) -> None:
    source = MachineLearningSource(ML_URL, "ml-secret", default_client_id)
    step = _only_request(source, _request(source, identity))
    assert step == HttpRequest(
        "GET",
        ML_URL,
        params=(("api-version", "2017-09-01"), ("resource", ARM), *selector),
        headers=(("secret", "ml-secret"), ("Metadata", "true")),
    )
    assert "ml-secret" not in repr(step)
    assert "ml-secret" not in repr(source)


@pytest.mark.parametrize("column", [IdentityKind.RESOURCE_ID, IdentityKind.OBJECT_ID])
def test_machine_learning_refuses_other_selectors(column: IdentityKind) -> None:
    source = MachineLearningSource(ML_URL, "ml-secret", "dflt")
    with pytest.raises(ManagedIdentityConfigurationError) as info:
        next(source.flow(_request(source, BY[column])))
    assert info.value.error_code == ErrorCode.INVALID_ID_TYPE
