"""Error shapes, and the answers of IMDS and App Service 2019-08-01."""

from __future__ import annotations

import hmac
import uuid

from .._kinds import ManagedIdentitySourceKind as Kind
from ._source import Context, SourceSpec
from ._tokens import Grant
from ._wire import Answer, Incoming, json_answer

__all__ = [
    "APP_SERVICE",
    "IMDS",
    "app_service_error",
    "imds_caller",
    "nested_error",
    "oauth_error",
    "with_refresh_in",
]


# Error shapes --------------------------------------------------------------------------


def oauth_error(status: int, code: str, message: str) -> Answer:
    """IMDS / Arc shape: ``{"error", "error_description"}``."""
    return json_answer(status, {"error": code, "error_description": message})


def app_service_error(status: int, code: str, message: str) -> Answer:
    """App Service shape: ``{"statusCode", "message", "correlationId"}``."""
    del code
    document = {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}
    return json_answer(status, document)


def nested_error(status: int, code: str, message: str) -> Answer:
    """Service Fabric / Cloud Shell shape: ``{"error": {"code", "message"}}``."""
    return json_answer(status, {"error": {"code": code, "message": message}})


def with_refresh_in(body: dict[str, object], grant: Grant) -> dict[str, object]:
    if grant.refresh_in is not None:
        body["refresh_in"] = str(grant.refresh_in)
    return body


# IMDS ----------------------------------------------------------------------------------


def imds_caller(request: Incoming, context: Context) -> Answer | None:
    if request.headers.get("metadata", "").strip().lower() != "true":
        return oauth_error(400, "invalid_request", "Required metadata header not specified")
    return None


def _imds_success(grant: Grant, context: Context) -> dict[str, object]:
    body: dict[str, object] = {
        "access_token": grant.access_token,
        "client_id": grant.identity.client_id,
        "expires_in": str(grant.lifetime),
        "expires_on": str(grant.expires_on),
        "ext_expires_in": str(grant.lifetime),
        "not_before": str(grant.issued_at),
        "resource": grant.resource,
        "token_type": "Bearer",
    }
    return with_refresh_in(body, grant)


def _imds_env(url: str, secret: str) -> dict[str, str]:
    return {"AZURE_POD_IDENTITY_AUTHORITY_HOST": url}


IMDS = SourceSpec(
    kind=Kind.IMDS,
    method="GET",
    path="/metadata/identity/oauth2/token",
    api_version="2018-02-01",
    selectors={"client_id": "client_id", "msi_res_id": "resource_id", "object_id": "object_id"},
    error=oauth_error,
    success=_imds_success,
    check_caller=imds_caller,
    env=_imds_env,
)


# App Service (and Functions) 2019-08-01 ------------------------------------------------


def _app_service_caller(request: Incoming, context: Context) -> Answer | None:
    sent = request.headers.get("x-identity-header", "")
    if not hmac.compare_digest(sent.encode(), context.identity_header.encode()):
        message = "The X-IDENTITY-HEADER header is missing or does not match"
        return app_service_error(401, "unauthorized", message)
    return None


def _app_service_success(grant: Grant, context: Context) -> dict[str, object]:
    body: dict[str, object] = {
        "access_token": grant.access_token,
        "expires_on": str(grant.expires_on),
        "resource": grant.resource,
        "token_type": "Bearer",
        "client_id": grant.identity.client_id,
    }
    return with_refresh_in(body, grant)


def _app_service_env(url: str, secret: str) -> dict[str, str]:
    return {"IDENTITY_ENDPOINT": url + APP_SERVICE.path, "IDENTITY_HEADER": secret}


APP_SERVICE = SourceSpec(
    kind=Kind.APP_SERVICE,
    method="GET",
    path="/msi/token",
    api_version="2019-08-01",
    selectors={"client_id": "client_id", "mi_res_id": "resource_id", "object_id": "object_id"},
    error=app_service_error,
    success=_app_service_success,
    check_caller=_app_service_caller,
    env=_app_service_env,
)
