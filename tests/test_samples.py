"""Recorded response samples (tests/samples/*.json) through each source's parse_response.

Each sample names its source, optionally the requested identity, the HTTP response,
and what must come out: token fields, or the error's code, status, text and server
correlation id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from msal_mi_async import (
    AppServiceSource,
    AzureArcSource,
    CloudShellSource,
    HttpResponse,
    ImdsSource,
    MachineLearningSource,
    ManagedIdentityError,
    ManagedIdentitySource,
    ManagedIdentitySourceKind,
    ServiceFabricSource,
    SystemAssignedManagedIdentity,
    TokenRequest,
    UserAssignedManagedIdentity,
)
from msal_mi_async._identity import ManagedIdentity

from .helpers import NOW

Kind = ManagedIdentitySourceKind
SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.json"))
SOURCES: dict[Kind, ManagedIdentitySource] = {
    Kind.IMDS: ImdsSource(),
    Kind.APP_SERVICE: AppServiceSource("http://localhost:8081/msi/token", "h"),
    Kind.AZURE_ARC: AzureArcSource(),
    Kind.SERVICE_FABRIC: ServiceFabricSource("https://localhost:2377/t", "h", "ab" * 20),
    Kind.CLOUD_SHELL: CloudShellSource("http://localhost:50342/oauth2/token"),
    Kind.MACHINE_LEARNING: MachineLearningSource("http://localhost:46808/msi/token", "s"),
}


def _identity(spec: dict[str, str] | None) -> ManagedIdentity:
    return SystemAssignedManagedIdentity() if spec is None else UserAssignedManagedIdentity(**spec)


def _response(spec: dict[str, Any]) -> HttpResponse:
    body = spec["body"]
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return HttpResponse(spec["status"], spec["headers"], content)


def test_every_source_has_success_and_error_samples() -> None:
    names = [path.stem for path in SAMPLES]
    for kind in Kind:
        assert any(name.startswith(f"{kind.value}-success") for name in names), kind
        assert any(name.startswith(f"{kind.value}-error") for name in names), kind


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.stem)
def test_sample(path: Path) -> None:
    sample = json.loads(path.read_text())
    source = SOURCES[Kind(sample["source"])]
    request = TokenRequest("r", _identity(sample["identity"]), source, "our-correlation-id")
    response = _response(sample["response"])
    expect = sample["expect"]
    if "error" not in expect:
        fields = source.parse_response(response, request, NOW)
        assert fields.access_token == sample["response"]["body"]["access_token"]
        assert (fields.expires_on, fields.refresh_on, fields.token_type) == (
            expect["expires_on"],
            expect["refresh_on"],
            expect["token_type"],
        )
        return
    with pytest.raises(ManagedIdentityError) as info:
        source.parse_response(response, request, NOW)
    error, wanted = info.value, expect["error"]
    assert (error.error_code, error.status_code) == (wanted["code"], wanted["status"])
    assert (error.source, error.correlation_id) == (source.kind, "our-correlation-id")
    assert error.server_correlation_id == wanted["server_correlation_id"]
    for text in wanted["contains"]:
        assert text in str(error)
    assert "eyJ." not in str(error)  # never the token
