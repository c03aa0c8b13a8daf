"""Turn an endpoint's HTTP response into token fields or an exception (protocol §5, §6).

Pure functions, no I/O.  Messages never contain the token nor the body of a 2xx response;
what is copied from an error body is escaped and capped.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from ._errors import ErrorCode, ManagedIdentityResponseError
from ._http import HttpResponse
from ._kinds import ManagedIdentitySourceKind

__all__ = ["TokenFields", "error_from_response", "parse_expiry", "parse_token_response"]

#: 2001-01-01T00:00:00Z.  A number below this is relative seconds, otherwise epoch seconds.
RELATIVE_THRESHOLD = 978_307_200
#: 9999-12-31T23:59:59Z.  Anything later is treated as unparseable.
MAX_EPOCH = 253_402_300_799
#: Tokens that live longer than 10 years are rejected (MSAL.NET ``ExpirationTooLongInDays``).
MAX_LIFETIME = 3650 * 86_400
#: Without a server ``refresh_in``, refresh at half-life only when the lifetime exceeds this.
HALF_LIFE_REFRESH_AFTER = 7200
#: Caps on what is copied from a response body into a message.
MAX_COPIED = 512
MAX_ID = 128
MAX_EXPIRY_TEXT = 64

IMDS_400_HINT = "no identity assigned, or the requested identity is not assigned to this resource"

_NUMBER = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_OFFSET = r"(Z|z|[+-]\d{2}:?\d{2})"
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*" + _OFFSET + "?",
    re.ASCII,
)
_US = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\s*([AaPp][Mm]))?(?:\s*"
    + _OFFSET
    + ")?",
    re.ASCII,
)


@attrs.frozen
class TokenFields:
    """The checked fields of a token response."""

    access_token: str = attrs.field(repr=False)
    token_type: str
    expires_on: int
    refresh_on: int | None
    resource: str | None
    body: Mapping[str, object] = attrs.field(repr=False, hash=False)


@attrs.frozen
class _Context:
    """What every error built for one response shares."""

    response: HttpResponse
    source: ManagedIdentitySourceKind
    correlation_id: str | None

    def error(
        self,
        detail: str,
        *,
        code: str = ErrorCode.REQUEST_FAILED,
        server_correlation_id: str | None = None,
    ) -> ManagedIdentityResponseError:
        status = self.response.status_code
        hint = f"{IMDS_400_HINT}; " if self._is_imds_400() else ""
        return ManagedIdentityResponseError(
            f"{hint}{self.source.value} endpoint returned HTTP {status}{detail}",
            error_code=code,
            status_code=status,
            correlation_id=self.correlation_id,
            server_correlation_id=server_correlation_id,
            source=self.source,
        )

    def _is_imds_400(self) -> bool:
        return self.source is ManagedIdentitySourceKind.IMDS and self.response.status_code == 400


# --- token responses --------------------------------------------------------------------


def parse_token_response(
    response: HttpResponse,
    *,
    source: ManagedIdentitySourceKind,
    now: float,
    correlation_id: str | None = None,
) -> TokenFields:
    """Token fields from a 2xx response; any problem raises ManagedIdentityResponseError."""
    if not 200 <= response.status_code < 300:
        raise error_from_response(response, source=source, correlation_id=correlation_id)
    ctx = _Context(response, source, correlation_id)
    body = _decode_object(response.content)
    if body is None:
        raise ctx.error(" but its body is not a JSON object", code=ErrorCode.RESPONSE_PARSE_FAILURE)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ctx.error(" but the response did not contain an access_token")
    expires_on = _checked_expiry(ctx, body, now)
    return TokenFields(
        access_token=token,
        token_type=_non_empty(body.get("token_type")) or "Bearer",
        expires_on=expires_on,
        refresh_on=_refresh_on(body, now, expires_on),
        resource=_non_empty(body.get("resource")),
        body=MappingProxyType(body),
    )


def _checked_expiry(ctx: _Context, body: Mapping[str, object], now: float) -> int:
    """``expires_on`` (preferred) or ``expires_in`` as epoch seconds, with a sane lifetime."""
    expires_on = parse_expiry(body.get("expires_on"), now)
    if expires_on is None:
        expires_on = parse_expiry(body.get("expires_in"), now)
    if expires_on is None:
        raise ctx.error(" but the response did not contain a parseable expires_on or expires_in")
    lifetime = expires_on - now
    if lifetime <= 0:
        raise ctx.error(f" but the token has already expired (lifetime {lifetime:.0f} s)")
    if lifetime > MAX_LIFETIME:
        raise ctx.error(f" but the token's lifetime ({lifetime:.0f} s) is over 10 years")
    return expires_on


def _refresh_on(body: Mapping[str, object], now: float, expires_on: int) -> int | None:
    """The server's ``refresh_in`` if usable; else half the lifetime when it is over 2 h."""
    refresh_in = _positive_seconds(body.get("refresh_in"))
    if refresh_in is not None and now + refresh_in < expires_on:
        return int(now + refresh_in)
    lifetime = expires_on - now
    return int(now + lifetime / 2) if lifetime > HALF_LIFE_REFRESH_AFTER else None


def _positive_seconds(value: object) -> float | None:
    """A positive number of seconds (number or numeric string) below MAX_LIFETIME, or None."""
    if isinstance(value, str):
        text = value.strip()
        ok = len(text) <= MAX_EXPIRY_TEXT and _NUMBER.fullmatch(text) is not None
        value = float(text) if ok else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if 0 < value < MAX_LIFETIME else None
    return None


def _decode_object(content: bytes) -> dict[str, object] | None:
    """The body as a JSON object, or None (bad encoding, bad JSON, not an object)."""
    try:
        decoded: object = json.loads(content)
    except (ValueError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _non_empty(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# --- expiry values ----------------------------------------------------------------------


def parse_expiry(value: object, now: float) -> int | None:
    """Epoch seconds for an ``expires_on``/``expires_in`` value; None if unparseable.

    Numbers (or numeric strings) below 2001-01-01Z are relative to ``now``, others are
    epoch seconds.  Strings may also be ISO-8601 or the 2017 US forms, naive ones as UTC.
    """
    try:
        if isinstance(value, str):
            return _parse_expiry_text(value, now)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _from_number(value, now)
    except (ArithmeticError, ValueError, TypeError):
        return None
    return None


def _from_number(value: float, now: float) -> int | None:
    if not 0 <= value <= MAX_EPOCH:  # also rejects NaN and infinities
        return None
    result = now + value if value < RELATIVE_THRESHOLD else value
    return int(result) if math.isfinite(result) else None


def _parse_expiry_text(value: str, now: float) -> int | None:
    text = value.strip()
    if len(text) > MAX_EXPIRY_TEXT:
        return None
    if _NUMBER.fullmatch(text):
        return _from_number(float(text) if "." in text else int(text), now)
    moment = _parse_iso(text) or _parse_us(text)
    if moment is None:
        return None
    timestamp = moment.timestamp()
    return int(timestamp) if 0 <= timestamp <= MAX_EPOCH else None


def _parse_iso(text: str) -> dt.datetime | None:
    """``YYYY-MM-DD[T ]HH:MM[:SS[.f]][Z|±HH:MM]``; raises ValueError on impossible values."""
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    return dt.datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second or 0),
        micros,
        tzinfo=_timezone(offset),
    )


def _parse_us(text: str) -> dt.datetime | None:
    """``M/D/YYYY H:MM:SS[ AM|PM][ ±HH:MM]``; raises ValueError on impossible values."""
    match = _US.fullmatch(text)
    if match is None:
        return None
    month, day, year, hour, minute, second, meridiem, offset = match.groups()
    return dt.datetime(
        int(year),
        int(month),
        int(day),
        _hour(int(hour), meridiem),
        int(minute),
        int(second),
        tzinfo=_timezone(offset),
    )


def _hour(hour: int, meridiem: str | None) -> int:
    """The 24-hour hour for a 12-hour clock reading (or the hour itself without AM/PM)."""
    if meridiem is None:
        return hour
    if not 1 <= hour <= 12:
        raise ValueError("hour out of range for a 12-hour clock")
    return hour % 12 + (12 if meridiem.lower() == "pm" else 0)


def _timezone(offset: str | None) -> dt.timezone:
    """UTC for no offset or ``Z``; otherwise the fixed offset ``±HH[:]MM``."""
    if offset is None or offset in ("Z", "z"):
        return dt.timezone.utc
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if minutes > 59:
        raise ValueError("offset minutes out of range")
    sign = -1 if offset[0] == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


# --- error responses --------------------------------------------------------------------


@attrs.frozen
class _ServerError:
    """What an error body says, already escaped and capped."""

    code: str | None
    message: str | None
    inner: str | None
    correlation_id: str | None

    def describe(self) -> str | None:
        text = ": ".join(part for part in (self.code, self.message) if part)
        if self.inner:
            text = f"{text} (inner error: {self.inner})" if text else f"inner error: {self.inner}"
        return text or None


def error_from_response(
    response: HttpResponse,
    *,
    source: ManagedIdentitySourceKind,
    correlation_id: str | None = None,
) -> ManagedIdentityResponseError:
    """The exception for a response without a token, carrying the server's details."""
    ctx = _Context(response, source, correlation_id)
    body = _decode_object(response.content)
    server = _server_error(body, response.status_code) if body is not None else None
    detail = (server.describe() if server else None) or _fallback_detail(body, response.content)
    return ctx.error(f": {detail}", server_correlation_id=server.correlation_id if server else None)


_CORRELATION_PATHS = (
    "correlation_id",
    "correlationId",
    "error.correlation_id",
    "error.correlationId",
)


def _server_error(body: Mapping[str, object], status: int) -> _ServerError:
    """Read the OAuth, App Service or nested error shape (whichever fields are present)."""
    return _ServerError(
        code=_lookup(body, "error", "error.code", limit=MAX_ID) or _app_service_code(body, status),
        message=_lookup(body, "error_description", "message", "error.message"),
        inner=_inner_error(body),
        correlation_id=_lookup(body, *_CORRELATION_PATHS, limit=MAX_ID),
    )


def _inner_error(body: Mapping[str, object]) -> str | None:
    """The nested shape's ``innererror`` code and message, if any."""
    code = _lookup(body, "error.innererror.code", limit=MAX_ID)
    message = _lookup(body, "error.innererror.message")
    return ": ".join(part for part in (code, message) if part) or None


def _app_service_code(body: Mapping[str, object], status: int) -> str | None:
    """App Service's ``statusCode``, when it says more than the HTTP status does."""
    code = _lookup(body, "statusCode", limit=MAX_ID)
    return code if code != str(status) else None


def _lookup(body: Mapping[str, object], *paths: str, limit: int = MAX_COPIED) -> str | None:
    """The first dotted path holding a non-empty string or integer, escaped and capped."""
    for path in paths:
        value: object = body
        for key in path.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            return _printable(value, limit)
    return None


def _fallback_detail(body: Mapping[str, object] | None, content: bytes) -> str:
    """For an unrecognised JSON object only its keys (values may be secret), else an excerpt."""
    if body is None:
        return _excerpt(content)
    keys = ", ".join(_printable(key, MAX_ID) for key in list(body)[:20])
    return _printable(f"unrecognised JSON error body with keys: {keys or '(none)'}", MAX_COPIED)


def _excerpt(content: bytes) -> str:
    """A printable, capped excerpt of a body that has no recognised error fields."""
    text = content[: MAX_COPIED * 4].decode("utf-8", errors="replace")
    if not text.strip():
        return "no response body"
    return _printable(text, MAX_COPIED, truncated=len(content) > MAX_COPIED * 4)


def _printable(text: str, limit: int, *, truncated: bool = False) -> str:
    """``text`` stripped, non-printable characters escaped, cut to ``limit`` characters."""
    text = text.strip()
    clipped = text[:limit]
    escaped = "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in clipped
    )
    if truncated or len(text) > limit or len(escaped) > limit:
        return f"{escaped[:limit]}...(truncated)"
    return escaped
