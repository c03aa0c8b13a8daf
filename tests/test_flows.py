"""Source flows driven by hand: no loop, no server (the sans-I/O core)."""

from __future__ import annotations

import pytest

from msal_mi_async import (
    AppServiceSource,
    HttpRequest,
    HttpResponse,
    ImdsSource,
    ManagedIdentitySource,
    SystemAssignedManagedIdentity,
    TokenRequest,
    UserAssignedManagedIdentity,
)
from msal_mi_async._identity import ManagedIdentity

SYSTEM = SystemAssignedManagedIdentity()


def _request(source: ManagedIdentitySource, identity: ManagedIdentity = SYSTEM) -> TokenRequest:
    return TokenRequest(
        resource="https://management.azure.com",
        identity=identity,
        source=source,
        correlation_id="cid",
    )


def _first_request(
    source: ManagedIdentitySource, identity: ManagedIdentity = SYSTEM
) -> HttpRequest:
    step = next(source.flow(_request(source, identity)))
    assert isinstance(step, HttpRequest)
    return step


def test_imds_flow_sends_one_get_and_returns_the_response() -> None:
    source = ImdsSource()
    flow = source.flow(_request(source))
    step = next(flow)
    assert step == HttpRequest(
        "GET",
        "http://169.254.169.254/metadata/identity/oauth2/token",
        params=(("api-version", "2018-02-01"), ("resource", "https://management.azure.com")),
        headers=(("Metadata", "true"),),
    )
    final = HttpResponse(200, {"Content-Type": "application/json"}, b"{}")
    with pytest.raises(StopIteration) as done:
        flow.send(final)
    assert done.value.value is final


@pytest.mark.parametrize(
    ("identity", "param"),
    [
        (UserAssignedManagedIdentity(client_id="cid-1"), ("client_id", "cid-1")),
        (UserAssignedManagedIdentity(resource_id="/sub/rg/id"), ("msi_res_id", "/sub/rg/id")),
        (UserAssignedManagedIdentity(object_id="oid-1"), ("object_id", "oid-1")),
    ],
)
def test_imds_user_assigned_selector_names(
    identity: ManagedIdentity, param: tuple[str, str]
) -> None:
    assert _first_request(ImdsSource(), identity).params[-1] == param


@pytest.mark.parametrize(
    ("identity", "param"),
    [
        (UserAssignedManagedIdentity(client_id="cid-1"), ("client_id", "cid-1")),
        (UserAssignedManagedIdentity(resource_id="/sub/rg/id"), ("mi_res_id", "/sub/rg/id")),
        (UserAssignedManagedIdentity(object_id="oid-1"), ("object_id", "oid-1")),
    ],
)
def test_app_service_flow(identity: ManagedIdentity, param: tuple[str, str]) -> None:
    source = AppServiceSource("http://localhost:8081/msi/token", "the-header")
    step = _first_request(source, identity)
    assert step.method == "GET"
    assert step.url == "http://localhost:8081/msi/token"
    assert step.params == (
        ("api-version", "2019-08-01"),
        ("resource", "https://management.azure.com"),
        param,
    )
    assert step.headers == (("X-IDENTITY-HEADER", "the-header"),)
    assert "the-header" not in repr(step)
