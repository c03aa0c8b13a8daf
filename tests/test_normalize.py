"""Unit and property tests for msal_mi_async._normalize (protocol §5 and §6)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msal_mi_async._errors import ErrorCode, ManagedIdentityError, ManagedIdentityResponseError
from msal_mi_async._http import HttpResponse
from msal_mi_async._kinds import ManagedIdentitySourceKind
from msal_mi_async._normalize import (
    TokenFields,
    error_from_response,
    parse_expiry,
    parse_token_response,
)

NOW = 1_700_000_000.0
TOKEN = "eyJ0eXAiOiJKV1Qi.secret-token-value"
IMDS = ManagedIdentitySourceKind.IMDS
APP_SERVICE = ManagedIdentitySourceKind.APP_SERVICE
SERVICE_FABRIC = ManagedIdentitySourceKind.SERVICE_FABRIC


def response(body: object, status: int = 200) -> HttpResponse:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {"Content-Type": "application/json"}, content)


def parse(body: object, status: int = 200, source: ManagedIdentitySourceKind = IMDS) -> TokenFields:
    return parse_token_response(response(body, status), source=source, now=NOW, correlation_id="c")


def parse_error(
    body: object, status: int = 200, source: ManagedIdentitySourceKind = IMDS
) -> ManagedIdentityResponseError:
    with pytest.raises(ManagedIdentityResponseError) as info:
        parse(body, status, source)
    return info.value


def token(**fields: object) -> dict[str, object]:
    return {"access_token": TOKEN, **fields}


def assert_secret_free(exc: BaseException) -> None:
    assert TOKEN not in str(exc)
    assert TOKEN not in repr(exc)
    assert "secret-token" not in str(exc.args)


# --- parse_expiry ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3600, 1_700_003_600),
        ("3600", 1_700_003_600),
        (" 3600\n", 1_700_003_600),
        (3599.0, 1_700_003_599),
        ("3599.0", 1_700_003_599),
        ("3599.9", 1_700_003_599),
        (0, 1_700_000_000),
        (978_307_199, 1_700_000_000 + 978_307_199),
        ("978307199", 1_700_000_000 + 978_307_199),
        (978_307_200, 978_307_200),
        ("978307200", 978_307_200),
        (1_700_003_600, 1_700_003_600),
        ("1700003600", 1_700_003_600),
        (1_700_003_600.75, 1_700_003_600),
    ],
)
def test_parse_expiry_numbers(value: object, expected: int) -> None:
    assert parse_expiry(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("06/20/2019 02:57:58 +00:00", 1_560_999_478),
        ("06/20/2019 02:57:58", 1_560_999_478),
        ("1/16/2020 5:24:12 AM +00:00", 1_579_152_252),
        ("1/16/2020 5:24:12 AM", 1_579_152_252),
        ("1/16/2020 5:24:12 PM +00:00", 1_579_195_452),
        ("1/16/2020 12:05:00 AM +00:00", 1_579_133_100),
        ("1/16/2020 12:05:00 PM +00:00", 1_579_176_300),
        ("1/16/2020 5:24:12 pm", 1_579_195_452),
        ("06/20/2019 04:57:58 +02:00", 1_560_999_478),
        ("2019-06-20T02:57:58Z", 1_560_999_478),
        ("2019-06-20T02:57:58+00:00", 1_560_999_478),
        ("2019-06-20T04:57:58+02:00", 1_560_999_478),
        ("2019-06-20T02:57:58", 1_560_999_478),
        ("2019-06-20 02:57:58", 1_560_999_478),
        ("2019-06-20T02:57:58.1234567Z", 1_560_999_478),
        ("2019-06-20T02:57:58.999-01:00", 1_561_003_078),
        (" 2019-06-20T02:57:58Z ", 1_560_999_478),
    ],
)
def test_parse_expiry_dates(value: str, expected: int) -> None:
    assert parse_expiry(value, NOW) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        [3600],
        {"v": 3600},
        -1,
        "-1",
        -0.5,
        math.nan,
        math.inf,
        -math.inf,
        "nan",
        "inf",
        "1e5",
        "0x10",
        "",
        "   ",
        "soon",
        "3600s",
        "1_000",
        "\u0663\u0666\u0660\u0660",  # Arabic-Indic digits
        10**400,
        "9" * 400,
        1e300,
        "13/01/2020 00:00:00",
        "02/30/2020 00:00:00",
        "1/16/2020 13:24:12 PM",
        "1/16/2020 0:24:12 AM",
        "2019-06-20T25:00:00Z",
        "2019-06-20T02:57:58+24:00",
        "2019-06-20T02:57:58+01:75",
        "1969-12-31T23:59:59Z",
        "2019-06-20",
    ],
)
def test_parse_expiry_rejects(value: object) -> None:
    assert parse_expiry(value, NOW) is None


def test_parse_expiry_with_unusable_now() -> None:
    assert parse_expiry(3600, math.nan) is None
    assert parse_expiry("3600", math.inf) is None


# --- successful token responses --------------------------------------------------------


def test_full_response() -> None:
    body = token(
        expires_on="1700003600", resource="https://management.azure.com/", token_type="Bearer"
    )
    fields = parse(body)
    assert fields == TokenFields(
        access_token=TOKEN,
        token_type="Bearer",
        expires_on=1_700_003_600,
        refresh_on=None,
        resource="https://management.azure.com/",
        body=body,
    )
    assert TOKEN not in repr(fields)


@pytest.mark.parametrize("token_type", [None, "", "  ", 7])
def test_token_type_defaults_to_bearer(token_type: object) -> None:
    body = token(expires_in=3600)
    if token_type is not None:
        body["token_type"] = token_type
    assert parse(body).token_type == "Bearer"


def test_token_type_kept() -> None:
    assert parse(token(expires_in=3600, token_type="mtls_pop")).token_type == "mtls_pop"


def test_body_and_resource_exposed() -> None:
    fields = parse(token(expires_in=3600, client_id="abc", resource=5))
    assert fields.body["client_id"] == "abc"
    assert fields.resource is None


@pytest.mark.parametrize("status", [200, 201, 299])
def test_any_2xx_is_parsed(status: int) -> None:
    assert parse(token(expires_in=60), status).expires_on == 1_700_000_060


def test_expires_on_number_and_string_agree() -> None:
    assert parse(token(expires_on=1_700_003_600)).expires_on == 1_700_003_600
    assert parse(token(expires_on="1700003600")).expires_on == 1_700_003_600


def test_expires_in_number_and_string_agree() -> None:
    assert parse(token(expires_in=3600)).expires_on == 1_700_003_600
    assert parse(token(expires_in="3600")).expires_on == 1_700_003_600


def test_expires_on_preferred_over_expires_in() -> None:
    fields = parse(token(expires_in=60, expires_on="1700003600"))
    assert fields.expires_on == 1_700_003_600
    fields = parse(token(expires_on="1700003600", expires_in=60))  # JSON order is irrelevant
    assert fields.expires_on == 1_700_003_600


@pytest.mark.parametrize("expires_on", ["soon", "", None, True, [1], "13/45/2020 00:00:00"])
def test_expires_in_used_when_expires_on_unparseable(expires_on: object) -> None:
    assert parse(token(expires_on=expires_on, expires_in=60)).expires_on == 1_700_000_060


def test_2017_date_form_in_response() -> None:
    now = 1_579_150_000.0  # 2020-01-16T04:46:40Z
    body = token(expires_on="1/16/2020 5:24:12 AM +00:00")
    fields = parse_token_response(response(body), source=APP_SERVICE, now=now)
    assert fields.expires_on == 1_579_152_252


def test_relative_expires_on_like_msal_net() -> None:
    assert parse(token(expires_on="3600")).expires_on == 1_700_003_600


# --- refresh_on --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        (3600, None),
        (7200, None),
        (7201, 1_700_003_600),
        (86_400, 1_700_043_200),
    ],
)
def test_refresh_at_half_life_only_over_two_hours(expires_in: int, expected: int | None) -> None:
    assert parse(token(expires_in=expires_in)).refresh_on == expected


@pytest.mark.parametrize("refresh_in", [1800, "1800", 1800.5, "1800.5"])
def test_refresh_in_honoured(refresh_in: object) -> None:
    assert parse(token(expires_in=3600, refresh_in=refresh_in)).refresh_on == 1_700_001_800


@pytest.mark.parametrize("refresh_in", [3600, 3601, 10**12])
def test_refresh_in_not_before_expiry_ignored(refresh_in: int) -> None:
    assert parse(token(expires_in=3600, refresh_in=refresh_in)).refresh_on is None
    assert parse(token(expires_in=86_400, refresh_in=86_400)).refresh_on == 1_700_043_200


def test_refresh_in_overrides_half_life() -> None:
    assert parse(token(expires_in=86_400, refresh_in=600)).refresh_on == 1_700_000_600


@pytest.mark.parametrize("refresh_in", [0, -5, "abc", True, None, math.inf, "1e3", [1]])
def test_unusable_refresh_in_ignored(refresh_in: object) -> None:
    body = json.dumps(token(expires_in=3600, refresh_in=refresh_in), allow_nan=True).encode()
    assert parse(body).refresh_on is None
    body = json.dumps(token(expires_in=86_400, refresh_in=refresh_in), allow_nan=True).encode()
    assert parse(body).refresh_on == 1_700_043_200


# --- failed token responses --------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"<html>200 OK</html>", b"[1, 2]", b'"token"', b"null", b"\xff\xfe\x00"],
)
def test_non_json_object_200(content: bytes) -> None:
    exc = parse_error(content)
    assert exc.error_code == ErrorCode.RESPONSE_PARSE_FAILURE
    assert exc.status_code == 200
    assert exc.source is IMDS
    assert exc.correlation_id == "c"
    assert "imds endpoint returned HTTP 200" in exc.message
    assert "not a JSON object" in exc.message


def test_non_json_200_body_not_copied() -> None:
    exc = parse_error(f"access_token={TOKEN}".encode())
    assert exc.error_code == ErrorCode.RESPONSE_PARSE_FAILURE
    assert_secret_free(exc)


@pytest.mark.parametrize("access_token", [None, "", 42, ["x"], {"t": "x"}])
def test_missing_token(access_token: object) -> None:
    body: dict[str, object] = {"expires_in": 3600}
    if access_token is not None:
        body["access_token"] = access_token
    exc = parse_error(body)
    assert exc.error_code == ErrorCode.REQUEST_FAILED
    assert exc.status_code == 200
    assert "did not contain an access_token" in exc.message


@pytest.mark.parametrize(
    "fields",
    [{}, {"expires_on": "soon"}, {"expires_in": "soon", "expires_on": None}, {"expires_in": -1}],
)
def test_missing_or_unparseable_expiry(fields: dict[str, object]) -> None:
    exc = parse_error(token(**fields))
    assert exc.error_code == ErrorCode.REQUEST_FAILED
    assert "expires_on or expires_in" in exc.message
    assert_secret_free(exc)


@pytest.mark.parametrize(
    "fields", [{"expires_in": 0}, {"expires_on": "1700000000"}, {"expires_on": 1_600_000_000}]
)
def test_lifetime_not_positive(fields: dict[str, object]) -> None:
    exc = parse_error(token(**fields))
    assert exc.error_code == ErrorCode.REQUEST_FAILED
    assert "already expired" in exc.message
    assert_secret_free(exc)


def test_lifetime_over_ten_years() -> None:
    ten_years = 3650 * 86_400
    assert (
        parse(token(expires_on=1_700_000_000 + ten_years)).expires_on == 1_700_000_000 + ten_years
    )
    exc = parse_error(token(expires_on=1_700_000_001 + ten_years))
    assert exc.error_code == ErrorCode.REQUEST_FAILED
    assert "over 10 years" in exc.message
    assert_secret_free(exc)


def test_token_never_in_messages() -> None:
    for body in (
        token(),
        token(expires_on=1_600_000_000),
        token(expires_on=1_700_000_000 + 10**9),
        [TOKEN],
        {"token": TOKEN},
    ):
        with pytest.raises(ManagedIdentityResponseError) as info:
            parse(body)
        assert_secret_free(info.value)


def test_non_2xx_raises_error_from_response() -> None:
    exc = parse_error({"error": "invalid_request", "error_description": "nope"}, status=500)
    assert exc.error_code == ErrorCode.REQUEST_FAILED
    assert exc.status_code == 500
    assert exc.correlation_id == "c"
    assert exc.message == "imds endpoint returned HTTP 500: invalid_request: nope"


def test_non_2xx_with_token_is_still_an_error() -> None:
    exc = parse_error(token(expires_in=3600), status=404, source=APP_SERVICE)
    assert exc.status_code == 404
    assert exc.error_code == ErrorCode.REQUEST_FAILED


# --- error bodies -------------------------------------------------------------------------


def error_for(
    body: object, status: int = 400, source: ManagedIdentitySourceKind = APP_SERVICE
) -> ManagedIdentityResponseError:
    return error_from_response(response(body, status), source=source, correlation_id="ours")


def test_oauth_error_shape_imds_400_hint() -> None:
    exc = error_for(
        {
            "error": "invalid_request",
            "error_description": "Identity not found",
            "error_codes": [1],
            "correlation_id": "server-corr",
        },
        source=IMDS,
    )
    assert exc.error_code == ErrorCode.REQUEST_FAILED
    assert exc.status_code == 400
    assert exc.source is IMDS
    assert exc.correlation_id == "ours"
    assert exc.server_correlation_id == "server-corr"
    assert exc.message.startswith(
        "no identity assigned, or the requested identity is not assigned to this resource"
    )
    assert "imds endpoint returned HTTP 400: invalid_request: Identity not found" in exc.message
    assert "server_correlation_id=server-corr" in str(exc)


def test_imds_hint_only_for_400() -> None:
    exc = error_for({"error": "x", "error_description": "y"}, status=403, source=IMDS)
    assert exc.message == "imds endpoint returned HTTP 403: x: y"
    exc = error_for({"error": "x", "error_description": "y"}, status=400)
    assert exc.message == "app_service endpoint returned HTTP 400: x: y"


def test_app_service_error_shape() -> None:
    body = {"statusCode": 400, "message": "Unable to load the token", "correlationId": "g-1"}
    exc = error_for(body)
    assert exc.message == "app_service endpoint returned HTTP 400: Unable to load the token"
    assert exc.server_correlation_id == "g-1"
    assert exc.status_code == 400


def test_app_service_status_code_kept_when_different() -> None:
    exc = error_for({"statusCode": 401, "message": "nope"}, status=500)
    assert exc.message == "app_service endpoint returned HTTP 500: 401: nope"


def test_nested_error_shape() -> None:
    body = {"error": {"code": "SecretHeaderNotFound", "message": "Secret is not found"}}
    exc = error_for(body, status=401, source=SERVICE_FABRIC)
    assert exc.message == (
        "service_fabric endpoint returned HTTP 401: SecretHeaderNotFound: Secret is not found"
    )
    assert exc.source is SERVICE_FABRIC
    assert exc.server_correlation_id is None


def test_nested_error_with_innererror() -> None:
    body = {
        "error": {
            "code": "BadRequest",
            "message": "bad",
            "correlationId": "n-1",
            "innererror": {"code": "ManagedIdentityNotFound", "message": "none here"},
        }
    }
    exc = error_for(body, source=SERVICE_FABRIC)
    assert exc.message == (
        "service_fabric endpoint returned HTTP 400: BadRequest: bad "
        "(inner error: ManagedIdentityNotFound: none here)"
    )
    assert exc.server_correlation_id == "n-1"


def test_empty_error_body() -> None:
    for content in (b"", b"  \r\n"):
        exc = error_for(content, status=503)
        assert exc.message == "app_service endpoint returned HTTP 503: no response body"


def test_non_json_error_body_excerpt_escaped() -> None:
    exc = error_for(b"<html>Bad\x00Gateway\n\x1b[31m</html>", status=502)
    assert exc.message == (
        "app_service endpoint returned HTTP 502: <html>Bad\\x00Gateway\\n\\x1b[31m</html>"
    )


def test_unrecognised_json_error_body_names_keys_only() -> None:
    exc = error_for({"unexpected": 1, "access_token": TOKEN}, status=500)
    assert exc.message == (
        "app_service endpoint returned HTTP 500: "
        "unrecognised JSON error body with keys: unexpected, access_token"
    )
    assert_secret_free(exc)
    exc = error_for({}, status=500)
    assert exc.message.endswith("unrecognised JSON error body with keys: (none)")
    exc = error_for([1, 2], status=500)
    assert exc.message == "app_service endpoint returned HTTP 500: [1, 2]"


def test_invalid_utf8_error_body() -> None:
    exc = error_for(b"\xff\xfeoops", status=500)
    assert exc.message == "app_service endpoint returned HTTP 500: \ufffd\ufffdoops"


def test_error_body_capped() -> None:
    exc = error_for(b"A" * 100_000, status=500)
    assert len(exc.message) < 600
    assert exc.message.endswith("...(truncated)")


def test_server_strings_capped_and_escaped() -> None:
    body = {
        "error": "c" * 1000,
        "error_description": "d\u202e" * 1000,
        "correlation_id": "x" * 1000,
    }
    exc = error_for(body)
    assert len(exc.message) < 1500
    assert "\u202e" not in exc.message
    assert "\\u202e" in exc.message
    assert exc.server_correlation_id is not None
    assert len(exc.server_correlation_id) < 150


@pytest.mark.parametrize(
    "body",
    [
        {"error": None, "error_description": None},
        {"error": [], "message": {}},
        {"error": {"code": None, "innererror": "text"}},
        {"error": True},
    ],
)
def test_garbage_error_fields_fall_back_to_keys(body: dict[str, object]) -> None:
    exc = error_for(body, status=500)
    assert exc.message.startswith(
        "app_service endpoint returned HTTP 500: unrecognised JSON error body with keys: "
    )


def test_numeric_nested_code() -> None:
    exc = error_for({"error": {"code": 42, "message": "m"}}, status=500)
    assert exc.message == "app_service endpoint returned HTTP 500: 42: m"


# --- properties ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
expiry_values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.from_regex(r"\A\s*[0-9]{1,12}(\.[0-9]{0,3})?\s*\Z")
    | st.from_regex(r"\A[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} [0-9]{1,2}:[0-9]{2}:[0-9]{2}( [AP]M)?\Z")
    | st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{4})?\Z")
    | st.lists(st.integers(), max_size=2)
)
token_bodies = st.fixed_dictionaries(
    {"access_token": st.one_of(st.just(TOKEN), json_values)},
    optional={
        "expires_on": expiry_values,
        "expires_in": expiry_values,
        "refresh_in": expiry_values,
        "token_type": json_values,
        "resource": json_values,
    },
)
statuses = st.sampled_from([200, 201, 204, 400, 401, 403, 404, 410, 429, 500, 502, 503])
sources = st.sampled_from(list(ManagedIdentitySourceKind))


def outcome(
    content: bytes, status: int, source: ManagedIdentitySourceKind
) -> TokenFields | ManagedIdentityError:
    try:
        return parse_token_response(HttpResponse(status, {}, content), source=source, now=NOW)
    except ManagedIdentityError as exc:
        return exc


def parses_or_raises_ours(content: bytes, status: int, source: ManagedIdentitySourceKind) -> None:
    fields = outcome(content, status, source)
    if isinstance(fields, ManagedIdentityError):
        assert isinstance(fields, ManagedIdentityResponseError)
        assert fields.status_code == status
        assert_secret_free(fields)
        return
    assert 200 <= status < 300
    assert 0 < fields.expires_on - NOW <= 3650 * 86_400
    assert fields.refresh_on is None or NOW <= fields.refresh_on < fields.expires_on
    assert fields.token_type


@settings(max_examples=150, deadline=None)
@given(content=st.binary(max_size=300), status=statuses, source=sources)
def test_arbitrary_bytes(content: bytes, status: int, source: ManagedIdentitySourceKind) -> None:
    parses_or_raises_ours(content, status, source)


@settings(max_examples=150, deadline=None)
@given(value=json_values, status=statuses, source=sources)
def test_arbitrary_json(value: object, status: int, source: ManagedIdentitySourceKind) -> None:
    parses_or_raises_ours(json.dumps(value).encode(), status, source)


@settings(max_examples=200, deadline=None)
@given(body=token_bodies, status=statuses)
def test_arbitrary_token_bodies(body: dict[str, object], status: int) -> None:
    parses_or_raises_ours(json.dumps(body).encode(), status, IMDS)


@settings(max_examples=200, deadline=None)
@given(value=expiry_values | json_values, now=st.floats(min_value=0, max_value=4e9))
def test_parse_expiry_never_raises(value: object, now: float) -> None:
    result = parse_expiry(value, now)
    assert result is None or (type(result) is int and result >= 0)


def test_deeply_nested_json_body() -> None:
    content = b"[" * 100_000 + b"]" * 100_000
    parses_or_raises_ours(content, 200, IMDS)
    parses_or_raises_ours(content, 500, IMDS)
    parses_or_raises_ours(b'{"error": ' * 50_000 + b"1" + b"}" * 50_000, 500, IMDS)


def test_huge_numbers_in_body() -> None:
    digits = b"9" * 5000
    parses_or_raises_ours(b'{"access_token": "t", "expires_in": ' + digits + b"}", 200, IMDS)
    body = {"access_token": "t", "expires_in": 10**300, "expires_on": 1e308, "refresh_in": 10**300}
    parses_or_raises_ours(json.dumps(body).encode(), 200, IMDS)
