"""The answers of Azure Arc, Service Fabric, Cloud Shell and Machine Learning (2017)."""

from __future__ import annotations

import datetime as dt
import hmac

from .._kinds import ManagedIdentitySourceKind as Kind
from ._handlers import app_service_error, imds_caller, nested_error, oauth_error, with_refresh_in
from ._source import Context, SourceSpec
from ._tokens import Grant
from ._wire import Answer, Incoming

__all__ = ["ARC", "CLOUD_SHELL", "MACHINE_LEARNING", "SERVICE_FABRIC"]


def _secret_matches(request: Incoming, context: Context, header: str) -> bool:
    sent = request.headers.get(header, "")
    return hmac.compare_digest(sent.encode(), context.identity_header.encode())


# Azure Arc 2020-06-01: challenge, key file, Basic authorization --------------------------


def _arc_caller(request: Incoming, context: Context) -> Answer | None:
    refused = imds_caller(request, context)
    if refused is not None or context.arc_keys is None:
        return refused
    authorization = request.headers.get("authorization")
    if authorization is None:
        path = context.arc_keys.challenge()
        answer = oauth_error(401, "unauthorized", "Key file challenge: read the realm's file")
        return Answer(401, answer.body, (("WWW-Authenticate", f"Basic realm={path}"),))
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "basic" or not context.arc_keys.redeem(key.strip()):
        return oauth_error(401, "unauthorized", "The key is missing, wrong or already used")
    return None


def _arc_success(grant: Grant, context: Context) -> dict[str, object]:
    body: dict[str, object] = {
        "access_token": grant.access_token,
        "expires_in": str(grant.lifetime),
        "expires_on": str(grant.expires_on),
        "not_before": str(grant.issued_at),
        "resource": grant.resource,
        "token_type": "Bearer",
        "client_id": grant.identity.client_id,
        "object_id": grant.identity.object_id,
        "msi_res_id": grant.identity.resource_id,
    }
    return with_refresh_in(body, grant)


def _arc_env(url: str, secret: str) -> dict[str, str]:
    return {"IDENTITY_ENDPOINT": url + ARC.path, "IMDS_ENDPOINT": url}


ARC = SourceSpec(
    kind=Kind.AZURE_ARC,
    method="GET",
    path="/azure-arc/metadata/identity/oauth2/token",
    api_version="2020-06-01",
    selectors={"client_id": "client_id", "msi_res_id": "resource_id", "object_id": "object_id"},
    error=oauth_error,
    success=_arc_success,
    check_caller=_arc_caller,
    env=_arc_env,
)


# Service Fabric 2019-07-01-preview (served only over the emulator's TLS port) -----------


def _service_fabric_caller(request: Incoming, context: Context) -> Answer | None:
    if not _secret_matches(request, context, "secret"):
        return nested_error(401, "SecretHeaderNotFound", "The secret header is missing or wrong")
    return None


def _service_fabric_success(grant: Grant, context: Context) -> dict[str, object]:
    body: dict[str, object] = {
        "access_token": grant.access_token,
        "expires_on": grant.expires_on,  # a JSON number, as documented
        "resource": grant.resource,
        "token_type": "Bearer",
    }
    return with_refresh_in(body, grant)


def _service_fabric_env(url: str, secret: str) -> dict[str, str]:
    return {"IDENTITY_ENDPOINT": url + SERVICE_FABRIC.path, "IDENTITY_HEADER": secret}


SERVICE_FABRIC = SourceSpec(
    kind=Kind.SERVICE_FABRIC,
    method="GET",
    path="/service-fabric/metadata/identity/oauth2/token",
    api_version="2019-07-01-preview",
    selectors={"principalId": "principal_id"},
    error=nested_error,
    success=_service_fabric_success,
    check_caller=_service_fabric_caller,
    env=_service_fabric_env,
)


# Cloud Shell: form POST ----------------------------------------------------------------


def _cloud_shell_success(grant: Grant, context: Context) -> dict[str, object]:
    return {
        "access_token": grant.access_token,
        "expires_in": str(grant.lifetime),
        "expires_on": str(grant.expires_on),
        "not_before": str(grant.issued_at),
        "resource": grant.resource,
        "token_type": "Bearer",
    }


def _cloud_shell_env(url: str, secret: str) -> dict[str, str]:
    return {"MSI_ENDPOINT": url + CLOUD_SHELL.path}


CLOUD_SHELL = SourceSpec(
    kind=Kind.CLOUD_SHELL,
    method="POST",
    path="/cloud-shell/oauth2/token",
    api_version=None,
    selectors={},
    error=nested_error,
    success=_cloud_shell_success,
    check_caller=imds_caller,
    env=_cloud_shell_env,
    params_in_form=True,
)


# Machine Learning and legacy App Service 2017-09-01 ------------------------------------


def _machine_learning_caller(request: Incoming, context: Context) -> Answer | None:
    if not _secret_matches(request, context, "secret"):
        return app_service_error(401, "unauthorized", "The secret header is missing or wrong")
    return None


def expires_on_text(expires_on: int, style: str) -> str:
    """``expires_on`` as epoch seconds, or the 2017 date forms (Linux "date", Windows "date12")."""
    moment = dt.datetime.fromtimestamp(expires_on, dt.timezone.utc)
    if style == "date":
        return moment.strftime("%m/%d/%Y %H:%M:%S +00:00")
    if style == "date12":
        hour = moment.hour % 12 or 12
        return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S %p} +00:00"
    return str(expires_on)


def _machine_learning_success(grant: Grant, context: Context) -> dict[str, object]:
    return {
        "access_token": grant.access_token,
        "expires_on": expires_on_text(grant.expires_on, context.ml_expires_on),
        "resource": grant.resource,
        "token_type": "Bearer",
        "client_id": grant.identity.client_id,
    }


def _machine_learning_env(url: str, secret: str) -> dict[str, str]:
    return {"MSI_ENDPOINT": url + MACHINE_LEARNING.path, "MSI_SECRET": secret}


MACHINE_LEARNING = SourceSpec(
    kind=Kind.MACHINE_LEARNING,
    method="GET",
    path="/machine-learning/msi/token",
    api_version="2017-09-01",
    selectors={"clientid": "client_id"},
    error=app_service_error,
    success=_machine_learning_success,
    check_caller=_machine_learning_caller,
    env=_machine_learning_env,
)
