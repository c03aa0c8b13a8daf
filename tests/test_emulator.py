"""The emulator: a real loopback HTTP server that answers like IMDS and App Service."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from msal_mi_async import ManagedIdentitySourceKind
from msal_mi_async.emulator import Emulator, Fault, RecordedRequest, UserAssignedIdentity

NOW = 1_800_000_000.75
ARM = "https://management.azure.com"
SECRET = "app-service-identity-header-secret"
IMDS_PATH = "/metadata/identity/oauth2/token"
APP_PATH = "/msi/token"
IMDS_PARAMS = {"api-version": "2018-02-01", "resource": ARM}
APP_PARAMS = {"api-version": "2019-08-01", "resource": ARM}
METADATA = {"Metadata": "true"}
APP_HEADERS = {"X-IDENTITY-HEADER": SECRET}
UAMI = UserAssignedIdentity(
    client_id="aaaaaaaa-0000-4000-8000-000000000001",
    resource_id="/subscriptions/s/resourceGroups/g/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/one",
    object_id="aaaaaaaa-0000-4000-8000-000000000002",
)
OTHER = UserAssignedIdentity(
    client_id="bbbbbbbb-0000-4000-8000-000000000001",
    resource_id="/subscriptions/s/resourceGroups/g/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/two",
    object_id="bbbbbbbb-0000-4000-8000-000000000002",
)
IMDS_KEYS = {
    "access_token",
    "client_id",
    "expires_in",
    "expires_on",
    "ext_expires_in",
    "not_before",
    "resource",
    "token_type",
}
APP_KEYS = {"access_token", "expires_on", "resource", "token_type", "client_id"}
SELECTOR_ATTRIBUTES = {
    "client_id": "client_id",
    "msi_res_id": "resource_id",
    "mi_res_id": "resource_id",
    "object_id": "object_id",
}
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)
TLS = ssl.create_default_context()  # built once: a fresh one per client costs ~50 ms


def sync_client(base_url: str = "") -> httpx.Client:
    return httpx.Client(base_url=base_url, trust_env=False, verify=TLS)


def async_client(emu: Emulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=emu.url, trust_env=False, verify=TLS)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[Emulator]:
    with Emulator(identity_header=SECRET, clock=clock, user_assigned=(UAMI, OTHER)) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with sync_client(emu.url) as http:
        yield http


def imds(client: httpx.Client, headers: dict[str, str] = METADATA, **params: str) -> httpx.Response:
    return client.get(IMDS_PATH, params={**IMDS_PARAMS, **params}, headers=headers)


def claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    assert len(parts) == 3
    assert all(parts)
    header, payload = (
        json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2]
    )
    assert header["alg"] == "none"
    assert header["typ"] == "JWT"
    decoded: dict[str, Any] = payload
    return decoded


def assert_oauth_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert isinstance(body["error"], str)
    assert body["error"]
    description: str = body["error_description"]
    return description


def assert_app_service_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"statusCode", "message", "correlationId"}
    assert body["statusCode"] == status
    uuid.UUID(body["correlationId"])
    message: str = body["message"]
    return message


# IMDS ----------------------------------------------------------------------------------


def test_imds_system_assigned_answers_like_imds(emu: Emulator, client: httpx.Client) -> None:
    response = imds(client)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == IMDS_KEYS
    assert all(isinstance(value, str) for value in body.values())
    assert emu.system_assigned is not None
    assert body["client_id"] == emu.system_assigned.client_id
    assert body["expires_in"] == body["ext_expires_in"] == "3600"
    assert body["expires_on"] == str(int(NOW) + 3600)
    assert body["not_before"] == str(int(NOW))
    assert body["resource"] == ARM
    assert body["token_type"] == "Bearer"


def test_token_is_jwt_shaped_with_realistic_claims(emu: Emulator, client: httpx.Client) -> None:
    token = imds(client).json()["access_token"]
    identity = emu.system_assigned
    assert identity is not None
    got = claims(token)
    assert got["aud"] == ARM
    assert got["iss"] == f"https://sts.windows.net/{emu.tenant_id}/"
    assert got["tid"] == emu.tenant_id
    assert got["oid"] == got["sub"] == identity.object_id
    assert got["appid"] == identity.client_id
    assert got["xms_mirid"] == identity.resource_id
    assert got["iat"] == got["nbf"] == int(NOW)
    assert got["exp"] == int(NOW) + 3600
    assert isinstance(got["uti"], str)
    assert got["uti"]


@pytest.mark.parametrize("selector", ["client_id", "msi_res_id", "object_id"])
@pytest.mark.parametrize("upper", [False, True])
def test_imds_user_assigned_selectors(client: httpx.Client, selector: str, upper: bool) -> None:
    value: str = getattr(UAMI, SELECTOR_ATTRIBUTES[selector])
    params = {**IMDS_PARAMS, selector: value.upper() if upper else value}
    response = client.get(IMDS_PATH, params=params, headers=METADATA)
    assert response.status_code == 200
    assert response.json()["client_id"] == UAMI.client_id
    got = claims(response.json()["access_token"])
    assert (got["appid"], got["oid"], got["xms_mirid"]) == (
        UAMI.client_id,
        UAMI.object_id,
        UAMI.resource_id,
    )


@pytest.mark.parametrize(
    ("headers", "params", "mentions"),
    [
        ({}, {}, "metadata"),
        ({"Metadata": "false"}, {}, "metadata"),
        (METADATA, {"api-version": "2019-08-01"}, "api-version"),
        (METADATA, {"resource": ""}, "resource"),
        (METADATA, {"client_id": "00000000-0000-0000-0000-000000000000"}, "not found"),
        (METADATA, {"client_id": UAMI.client_id, "object_id": UAMI.object_id}, "one"),
    ],
    ids=["no-metadata", "metadata-false", "api-version", "resource", "unknown-id", "two-ids"],
)
def test_imds_rejects_bad_requests(
    client: httpx.Client, headers: dict[str, str], params: dict[str, str], mentions: str
) -> None:
    description = assert_oauth_error(imds(client, headers, **params), 400)
    assert mentions in description.lower()


@pytest.mark.parametrize("missing", ["api-version", "resource"])
def test_imds_rejects_missing_parameters(client: httpx.Client, missing: str) -> None:
    params = {name: value for name, value in IMDS_PARAMS.items() if name != missing}
    response = client.get(IMDS_PATH, params=params, headers=METADATA)
    assert missing in assert_oauth_error(response, 400)


def test_imds_wrong_method_is_405(client: httpx.Client) -> None:
    response = client.post(IMDS_PATH, params=IMDS_PARAMS, headers=METADATA)
    assert_oauth_error(response, 405)


def test_no_system_assigned_identity_is_400() -> None:
    with Emulator(system_assigned=None) as emu, sync_client(emu.url) as client:
        assert_oauth_error(imds(client), 400)
        default = emu.user_assigned[0]
        assert imds(client, client_id=default.client_id).status_code == 200


# App Service ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_app_service_answers_like_app_service(emu: Emulator) -> None:
    async with async_client(emu) as client:
        response = await client.get(APP_PATH, params=APP_PARAMS, headers=APP_HEADERS)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == APP_KEYS
    assert body["expires_on"] == str(int(NOW) + 3600)
    assert (body["resource"], body["token_type"]) == (ARM, "Bearer")
    assert emu.system_assigned is not None
    assert body["client_id"] == emu.system_assigned.client_id
    assert claims(body["access_token"])["exp"] == int(NOW) + 3600


@pytest.mark.anyio
@pytest.mark.parametrize("selector", ["client_id", "mi_res_id", "object_id"])
async def test_app_service_user_assigned_selectors(emu: Emulator, selector: str) -> None:
    params = {**APP_PARAMS, selector: getattr(OTHER, SELECTOR_ATTRIBUTES[selector])}
    async with async_client(emu) as client:
        response = await client.get(APP_PATH, params=params, headers=APP_HEADERS)
    assert response.status_code == 200
    assert response.json()["client_id"] == OTHER.client_id
    assert claims(response.json()["access_token"])["oid"] == OTHER.object_id


@pytest.mark.parametrize("headers", [{}, {"X-IDENTITY-HEADER": "wrong"}], ids=["none", "wrong"])
def test_app_service_requires_the_identity_header(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    response = client.get(APP_PATH, params=APP_PARAMS, headers=headers)
    assert "X-IDENTITY-HEADER" in assert_app_service_error(response, 401)
    assert SECRET not in response.text


@pytest.mark.parametrize(
    "params",
    [
        {"api-version": "2019-08-01"},
        {"api-version": "2017-09-01", "resource": ARM},
        {**APP_PARAMS, "client_id": "nope"},
        {**APP_PARAMS, "client_id": UAMI.client_id, "mi_res_id": UAMI.resource_id},
    ],
    ids=["no-resource", "api-version", "unknown-id", "two-ids"],
)
def test_app_service_rejects_bad_requests(client: httpx.Client, params: dict[str, str]) -> None:
    response = client.get(APP_PATH, params=params, headers=APP_HEADERS)
    assert_app_service_error(response, 400)


def test_unknown_path_is_404_and_recorded(emu: Emulator, client: httpx.Client) -> None:
    assert client.get("/nowhere", headers=METADATA).status_code == 404
    assert [(r.path, r.source) for r in emu.requests] == [("/nowhere", "")]


# Environment ---------------------------------------------------------------------------


def test_env_points_at_the_emulator(emu: Emulator) -> None:
    assert emu.env(ManagedIdentitySourceKind.IMDS) == {"AZURE_POD_IDENTITY_AUTHORITY_HOST": emu.url}
    app = emu.env("app_service")
    assert app == {"IDENTITY_ENDPOINT": emu.url + APP_PATH, "IDENTITY_HEADER": SECRET}
    with sync_client() as client:
        response = client.get(
            app["IDENTITY_ENDPOINT"],
            params=APP_PARAMS,
            headers={"X-IDENTITY-HEADER": app["IDENTITY_HEADER"]},
        )
    assert response.status_code == 200


@pytest.mark.parametrize("kind", ["no-such-source"])
def test_env_rejects_sources_not_served(emu: Emulator, kind: str) -> None:
    with pytest.raises(ValueError, match=kind):
        emu.env(kind)


def test_default_identity_header_is_a_random_secret_kept_out_of_repr() -> None:
    first, second = Emulator(), Emulator()
    assert first.identity_header != second.identity_header
    assert len(first.identity_header) >= 16
    with first:
        assert first.identity_header not in repr(first)
        assert first.url in repr(first)
    assert "stopped" in repr(first)


# Recording -----------------------------------------------------------------------------


def test_records_requests_in_arrival_order(emu: Emulator, client: httpx.Client) -> None:
    imds(client, {**METADATA, "X-MS-Client-Request-Id": "corr-1"}, client_id=UAMI.client_id)
    client.get(APP_PATH, params=APP_PARAMS, headers=APP_HEADERS)
    first, second = emu.requests
    assert (first.method, first.path, first.source) == ("GET", IMDS_PATH, "imds")
    assert first.query == {**IMDS_PARAMS, "client_id": UAMI.client_id}
    assert first.headers["metadata"] == "true"
    assert first.headers["x-ms-client-request-id"] == "corr-1"
    assert all(name == name.lower() for name in first.headers)
    assert first.form is None
    assert (second.path, second.source, second.query) == (APP_PATH, "app_service", APP_PARAMS)
    assert second.headers["x-identity-header"] == SECRET
    assert emu.request_count == 2


def test_recorded_request_repr_hides_header_values(emu: Emulator, client: httpx.Client) -> None:
    client.get(APP_PATH, params=APP_PARAMS, headers=APP_HEADERS)
    text = repr(emu.requests[0])
    assert "x-identity-header" in text
    assert SECRET not in text
    assert isinstance(emu.requests[0], RecordedRequest)


def test_records_form_bodies(emu: Emulator, client: httpx.Client) -> None:
    client.post(IMDS_PATH, data={"resource": ARM}, headers=METADATA)
    assert emu.requests[0].form == {"resource": ARM}
    assert emu.requests[0].method == "POST"


def test_requests_is_a_snapshot_and_reset_clears(emu: Emulator, client: httpx.Client) -> None:
    imds(client)
    snapshot = emu.requests
    snapshot.clear()
    assert emu.request_count == len(emu.requests) == 1
    emu.inject(Fault(status=503))
    emu.reset()
    assert (emu.request_count, emu.requests) == (0, [])
    assert imds(client).status_code == 200
    assert emu.request_count == 1


# Faults --------------------------------------------------------------------------------


def test_fault_status_and_retry_after_in_imds_shape(emu: Emulator, client: httpx.Client) -> None:
    emu.inject(Fault(status=429, retry_after="7"))
    response = imds(client)
    assert_oauth_error(response, 429)
    assert response.headers["retry-after"] == "7"
    assert imds(client).status_code == 200
    assert emu.request_count == 2


def test_fault_uses_app_service_shape(emu: Emulator, client: httpx.Client) -> None:
    emu.inject(Fault(status=503, headers={"Retry-After": "2"}))
    response = client.get(APP_PATH, params=APP_PARAMS, headers=APP_HEADERS)
    assert_app_service_error(response, 503)
    assert response.headers["retry-after"] == "2"


def test_faults_queue_in_order_for_the_given_times(emu: Emulator, client: httpx.Client) -> None:
    emu.inject(Fault(status=500), times=2)
    emu.inject(Fault(status=404))
    assert [imds(client).status_code for _ in range(4)] == [500, 500, 404, 200]


def test_faults_apply_before_validation(emu: Emulator, client: httpx.Client) -> None:
    emu.inject(Fault(status=410))
    assert imds(client, {}).status_code == 410
    assert imds(client, {}).status_code == 400


def test_fault_with_explicit_body_and_headers(emu: Emulator, client: httpx.Client) -> None:
    emu.inject(Fault(status=502, body=b"upstream gone", headers={"X-Why": "test"}))
    response = imds(client)
    assert (response.status_code, response.content) == (502, b"upstream gone")
    assert response.headers["x-why"] == "test"


def test_dropped_connection(emu: Emulator, client: httpx.Client) -> None:
    emu.inject(Fault(drop_connection=True))
    with pytest.raises(DROPPED):
        imds(client)
    assert imds(client).status_code == 200
    assert emu.request_count == 2


@pytest.mark.anyio
async def test_dropped_connection_async(emu: Emulator) -> None:
    emu.inject(Fault(drop_connection=True))
    async with async_client(emu) as client:
        with pytest.raises(DROPPED):
            await client.get(IMDS_PATH, params=IMDS_PARAMS, headers=METADATA)
        response = await client.get(IMDS_PATH, params=IMDS_PARAMS, headers=METADATA)
    assert response.status_code == 200


def test_status_200_body_replaces_the_token_response(emu: Emulator, client: httpx.Client) -> None:
    emu.inject(Fault(status=200, body=b'{"access_token":"x","expires_on":"12/31/2030 10:00:00"}'))
    response = imds(client)
    assert response.status_code == 200
    assert response.json() == {"access_token": "x", "expires_on": "12/31/2030 10:00:00"}


def test_bad_body_is_200_without_json(emu: Emulator, client: httpx.Client) -> None:
    emu.inject(Fault(bad_body=True))
    response = imds(client)
    assert response.status_code == 200
    assert not response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_delay_then_normal_answer(emu: Emulator, client: httpx.Client) -> None:
    emu.inject(Fault(status=200, delay=0.2, retry_after="3"))
    start = time.perf_counter()
    response = imds(client)
    assert time.perf_counter() - start >= 0.2
    assert response.headers["retry-after"] == "3"
    assert response.status_code == 200
    assert "access_token" in response.json()


def test_delay_then_fault(emu: Emulator, client: httpx.Client) -> None:
    emu.inject(Fault(status=504, delay=0.1))
    start = time.perf_counter()
    assert_oauth_error(imds(client), 504)
    assert time.perf_counter() - start >= 0.1


@pytest.mark.parametrize(
    "make",
    [lambda: Fault(status=42), lambda: Fault(status=600), lambda: Fault(delay=-1)],
    ids=["status-low", "status-high", "delay"],
)
def test_fault_rejects_nonsense(make: Any) -> None:
    with pytest.raises(ValueError, match="must"):
        make()


def test_inject_rejects_zero_times(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="times"):
        emu.inject(Fault(), times=0)


# Tokens --------------------------------------------------------------------------------


def test_every_token_is_distinct(client: httpx.Client) -> None:
    tokens = [imds(client).json()["access_token"] for _ in range(5)]
    assert len(set(tokens)) == 5
    assert len({claims(token)["uti"] for token in tokens}) == 5


def test_tokens_follow_the_injected_clock(clock: Clock, client: httpx.Client) -> None:
    clock.now += 1234
    body = imds(client).json()
    assert body["expires_on"] == str(int(NOW) + 1234 + 3600)
    assert claims(body["access_token"])["iat"] == int(NOW) + 1234


def test_lifetime_refresh_in_and_tenant_are_configurable(clock: Clock) -> None:
    tenant = "cccccccc-0000-4000-8000-000000000000"
    emulator = Emulator(
        clock=clock, token_lifetime=120, refresh_in=60, tenant_id=tenant, identity_header=SECRET
    )
    with emulator as emu, sync_client(emu.url) as client:
        body = imds(client).json()
        app = client.get(APP_PATH, params=APP_PARAMS, headers=APP_HEADERS).json()
    assert set(body) == {*IMDS_KEYS, "refresh_in"}
    assert (body["expires_in"], body["refresh_in"]) == ("120", "60")
    assert (app["expires_on"], app["refresh_in"]) == (str(int(NOW) + 120), "60")
    assert claims(body["access_token"])["tid"] == tenant


@pytest.mark.anyio
async def test_concurrent_async_requests(emu: Emulator) -> None:
    bodies: list[dict[str, str]] = []

    async def fetch(client: httpx.AsyncClient) -> None:
        response = await client.get(IMDS_PATH, params=IMDS_PARAMS, headers=METADATA)
        bodies.append(response.json())

    async with async_client(emu) as client, anyio.create_task_group() as group:
        for _ in range(40):
            group.start_soon(fetch, client)
    assert len({body["access_token"] for body in bodies}) == 40
    assert emu.request_count == 40


# Lifecycle -----------------------------------------------------------------------------


def test_url_requires_a_running_emulator() -> None:
    with pytest.raises(RuntimeError, match="start"):
        _ = Emulator().url


def test_start_and_stop_are_idempotent_and_free_the_port() -> None:
    emu = Emulator()
    emu.start()
    url = emu.url
    emu.start()
    assert emu.url == url
    port = int(url.rsplit(":", 1)[1])
    emu.stop()
    emu.stop()
    with pytest.raises(RuntimeError):
        _ = emu.url
    with pytest.raises(httpx.ConnectError), sync_client() as client:
        client.get(url + IMDS_PATH)
    with Emulator(port=port) as again:
        assert again.url == url


def test_stop_does_not_wait_for_idle_keep_alive_connections() -> None:
    emu = Emulator().start()
    with sync_client(emu.url) as client:
        assert imds(client).status_code == 200
        emu.stop()
        with pytest.raises((httpx.RemoteProtocolError, httpx.ConnectError)):
            imds(client)


def test_stop_interrupts_a_delayed_answer() -> None:
    emu = Emulator().start()
    emu.inject(Fault(status=200, delay=60))
    errors: list[BaseException] = []

    def call() -> None:
        with sync_client(emu.url) as client:
            try:
                imds(client)
            except httpx.HTTPError as exc:
                errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert emu.wait_for_requests(1)
    start = time.perf_counter()
    emu.stop()
    caller.join()
    assert time.perf_counter() - start < 10
    assert len(errors) == 1
    assert isinstance(errors[0], DROPPED)


def test_raw_socket_keep_alive_serves_several_requests(emu: Emulator) -> None:
    host, port = emu.url.removeprefix("http://").rsplit(":", 1)
    request = (
        f"GET {IMDS_PATH}?api-version=2018-02-01&resource=x HTTP/1.1\r\n"
        "Host: x\r\nMetadata: true\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port))) as sock, sock.makefile("rb") as stream:
        for _ in range(3):
            sock.sendall(request)
            assert stream.readline().startswith(b"HTTP/1.1 200")
            length = 0
            while (line := stream.readline()) != b"\r\n":
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            assert json.loads(stream.read(length))["resource"] == "x"
    assert emu.request_count == 3


def test_a_failing_clock_answers_500_and_keeps_serving(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> float:
        raise OSError("clock is gone")

    with Emulator(clock=broken) as emu, sync_client(emu.url) as client:
        response = imds(client)
        assert response.status_code == 500
        assert imds(client, {}).status_code == 400
    assert "emulator failed to answer GET /metadata/identity/oauth2/token" in caplog.text


def test_bad_content_length_is_400(emu: Emulator) -> None:
    host, port = emu.url.removeprefix("http://").rsplit(":", 1)
    request = b"POST /msi/token HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"
    with socket.create_connection((host, int(port))) as sock, sock.makefile("rb") as stream:
        sock.sendall(request)
        assert stream.readline().startswith(b"HTTP/1.1 400")
    assert emu.request_count == 0


def test_wait_for_requests_times_out(emu: Emulator, client: httpx.Client) -> None:
    assert not emu.wait_for_requests(1, timeout=0)
    imds(client)
    assert emu.wait_for_requests(1, timeout=0)


def test_fault_picker_is_asked_after_injected_faults() -> None:
    asked: list[tuple[str, str]] = []

    def picker(request: RecordedRequest) -> Fault | None:
        asked.append((request.source, request.query.get("resource", "")))
        return Fault(status=503) if request.query.get("resource") == "https://bad" else None

    with Emulator(fault_picker=picker) as emu, httpx.Client(verify=TLS) as http:
        url = emu.url + "/metadata/identity/oauth2/token"
        base = {"api-version": "2018-02-01"}
        emu.inject(Fault(status=429))
        queued = http.get(
            url, params={**base, "resource": "https://bad"}, headers={"Metadata": "true"}
        )
        picked = http.get(
            url, params={**base, "resource": "https://bad"}, headers={"Metadata": "true"}
        )
        normal = http.get(
            url, params={**base, "resource": "https://ok"}, headers={"Metadata": "true"}
        )
    assert [queued.status_code, picked.status_code, normal.status_code] == [429, 503, 200]
    assert asked == [("imds", "https://bad"), ("imds", "https://ok")]
