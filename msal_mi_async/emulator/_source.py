"""One emulated source as data, and the request flow every source shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from .._kinds import ManagedIdentitySourceKind
from ._arc_keys import ArcKeys
from ._faults import ErrorMaker
from ._identities import IdentityBook, SelectorError
from ._tokens import Grant, TokenMinter
from ._wire import Answer, Incoming, json_answer

__all__ = ["CallerCheck", "Context", "EnvMaker", "SourceSpec"]


@attrs.frozen
class Context:
    """Per-emulator state the handlers need."""

    identity_header: str = attrs.field(repr=False)
    minter: TokenMinter
    identities: IdentityBook
    arc_keys: ArcKeys | None = None
    ml_expires_on: str = "epoch"
    """How Machine Learning writes ``expires_on``: "epoch", "date" or "date12"."""


CallerCheck = Callable[[Incoming, Context], "Answer | None"]
"""Refuses a caller (missing header, wrong secret, challenge...) or returns None."""

EnvMaker = Callable[[str, str], dict[str, str]]
"""(emulator base URL, identity header secret) → environment variables."""


@attrs.frozen
class SourceSpec:
    """How one managed-identity source is called and how it answers."""

    kind: ManagedIdentitySourceKind
    method: str
    path: str
    api_version: str | None
    selectors: Mapping[str, str]
    """Wire name of each user-assigned selector → :class:`Identity` attribute."""
    error: ErrorMaker
    success: Callable[[Grant, Context], Mapping[str, object]]
    check_caller: CallerCheck
    env: EnvMaker
    params_in_form: bool = False

    def handle(self, request: Incoming, context: Context) -> Answer:
        """Validate ``request`` the way the real endpoint would, then mint a token."""
        if request.method != self.method:
            message = f"The {request.method} method is not supported here; use {self.method}"
            return self.error(405, "invalid_request", message)
        refused = self.check_caller(request, context)
        if refused is not None:
            return refused
        params = request.params(from_form=self.params_in_form)
        problem = self._parameter_problem(params)
        if problem is not None:
            return self.error(400, "invalid_request", problem)
        try:
            identity = context.identities.select(params, self.selectors)
        except SelectorError as exc:
            return self.error(400, "invalid_request", str(exc))
        grant = context.minter.mint(params["resource"], identity)
        return json_answer(200, self.success(grant, context))

    def _parameter_problem(self, params: Mapping[str, str]) -> str | None:
        if self.api_version is not None:
            version = params.get("api-version")
            if version is None:
                return "Required query variable 'api-version' is missing"
            if version != self.api_version:
                return f"Invalid api-version {version!r}; this endpoint serves {self.api_version}"
        if not params.get("resource", "").strip():
            return "Required parameter 'resource' is missing"
        return None
