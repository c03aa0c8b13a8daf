"""What the HTTP layer hands to the emulator, and what it gets back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import parse_qsl, urlsplit

import attrs

__all__ = ["JSON", "Answer", "Incoming", "json_answer", "parse_incoming"]

JSON = "application/json; charset=utf-8"
FORM = "application/x-www-form-urlencoded"


@attrs.frozen
class Incoming:
    """One parsed HTTP request; header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str] = attrs.field(repr=False)
    form: Mapping[str, str] | None

    def params(self, *, from_form: bool) -> Mapping[str, str]:
        """The request's parameters: the form body or the query string."""
        if from_form:
            return self.form or {}
        return self.query


@attrs.frozen
class Answer:
    """What to send back; ``drop`` closes the connection without a response."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = JSON
    delay: float = 0.0
    drop: bool = False


def json_answer(status: int, document: Mapping[str, object]) -> Answer:
    """A JSON answer with compact encoding."""
    return Answer(status, json.dumps(document, separators=(",", ":")).encode())


def _pairs(text: str) -> Mapping[str, str]:
    return MappingProxyType(dict(parse_qsl(text, keep_blank_values=True)))


def parse_incoming(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Incoming:
    """Split the request target and decode a form body, if there is one."""
    parts = urlsplit(target)
    is_form = headers.get("content-type", "").split(";")[0].strip().lower() == FORM
    has_form = is_form and (bool(body) or method == "POST")
    form = _pairs(body.decode("utf-8", "replace")) if has_form else None
    return Incoming(method, parts.path, _pairs(parts.query), MappingProxyType(dict(headers)), form)
