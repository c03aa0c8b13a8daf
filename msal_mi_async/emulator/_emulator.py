"""The public :class:`Emulator`: configuration, lifecycle, recording and faults."""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Literal

import attrs

from .._kinds import ManagedIdentitySourceKind
from ._arc_keys import ArcKeys
from ._faults import Fault, FaultQueue
from ._identities import (
    DEFAULT_SYSTEM_ASSIGNED,
    DEFAULT_TENANT_ID,
    DEFAULT_USER_ASSIGNED,
    Identity,
    IdentityBook,
    UserAssignedIdentity,
)
from ._recording import RecordedRequest, Recorder
from ._server import ServerThread, TlsStats
from ._source import Context, SourceSpec
from ._table import SOURCES, TLS_ONLY
from ._tls_endpoint import TlsEndpoint
from ._tokens import TokenMinter
from ._wire import Answer, Incoming

__all__ = ["Emulator"]

_ROUTES: dict[str, SourceSpec] = {spec.path: spec for spec in SOURCES.values()}
MlExpiry = Literal["epoch", "date", "date12"]


class Emulator:
    """A loopback HTTP server that answers like the Azure managed-identity endpoints.

    It runs on a daemon thread, so asyncio, trio and sync code can all call it.
    Azure Arc writes real key files into ``arc_token_dir`` (a temporary directory by
    default); Service Fabric is served over TLS on a second port, with a self-signed
    certificate made on first use (see :attr:`service_fabric_thumbprint`).
    ``ml_expires_on`` picks Machine Learning's ``expires_on`` form: epoch seconds,
    ``"date"`` (``MM/DD/YYYY HH:MM:SS +00:00``) or ``"date12"`` (``M/D/YYYY H:MM:SS AM +00:00``).
    ``fault_picker``, when given, is asked for a fault for every token request that no
    injected fault claims (called on server threads; return None for a normal answer).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        identity_header: str | None = None,
        token_lifetime: int = 3600,
        clock: Callable[[], float] = time.time,
        tenant_id: str = DEFAULT_TENANT_ID,
        user_assigned: Iterable[UserAssignedIdentity] = (DEFAULT_USER_ASSIGNED,),
        system_assigned: Identity | None = DEFAULT_SYSTEM_ASSIGNED,
        refresh_in: int | None = None,
        arc_token_dir: str | None = None,
        ml_expires_on: MlExpiry = "epoch",
        fault_picker: Callable[[RecordedRequest], Fault | None] | None = None,
    ) -> None:
        self._host, self._port = host, port
        self._context = Context(
            identity_header=identity_header or secrets.token_urlsafe(24),
            minter=TokenMinter(tenant_id, token_lifetime, clock, refresh_in),
            identities=IdentityBook(system_assigned, tuple(user_assigned)),
            arc_keys=ArcKeys(arc_token_dir),
            ml_expires_on=ml_expires_on,
        )
        self._tls = TlsEndpoint(host, functools.partial(self._dispatch, tls=True))
        self._recorder = Recorder()
        self._faults = FaultQueue()
        self._fault_picker = fault_picker
        self._lifecycle = threading.Lock()
        self._server: ServerThread | None = None

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind and start serving; does nothing if already running."""
        with self._lifecycle:
            if self._server is None:
                self._arc_keys.open()
                self._server = ServerThread(self._host, self._port, self._dispatch)
        return self

    def stop(self) -> None:
        """Stop serving, close every socket and join every thread; safe to repeat."""
        with self._lifecycle:
            server, self._server = self._server, None
            if server is not None:
                server.stop()
                self._tls.stop()
                self._arc_keys.close()

    @property
    def _arc_keys(self) -> ArcKeys:
        keys = self._context.arc_keys
        assert keys is not None
        return keys

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        server = self._server
        where = "stopped" if server is None else f"url={self._url_for(server.port)!r}"
        return f"Emulator({where}, sources={self.sources!r}, requests={self.request_count})"

    # Configuration -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running emulator."""
        server = self._server
        if server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._url_for(server.port)

    def _url_for(self, port: int) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{port}"

    @property
    def identity_header(self) -> str:
        """The secret App Service callers must send as ``X-IDENTITY-HEADER``."""
        return self._context.identity_header

    @property
    def system_assigned(self) -> Identity | None:
        """The system-assigned identity, or None when it is disabled."""
        return self._context.identities.system_assigned

    @property
    def user_assigned(self) -> tuple[UserAssignedIdentity, ...]:
        """The user-assigned identities that selectors can name."""
        return tuple(self._context.identities.user_assigned)

    @property
    def tenant_id(self) -> str:
        """The tenant named in every token."""
        return self._context.minter.tenant_id

    @property
    def sources(self) -> tuple[str, ...]:
        """The source kinds this emulator serves."""
        return tuple(kind.value for kind in SOURCES)

    @property
    def arc_token_dir(self) -> str:
        """Where the emulated Arc agent writes key files; give it to the library's reader.

        ``ManagedIdentityClient(read_key_file=ArcKeyFileReader(token_dir=...))``: the
        library only reads the agent's fixed directory unless told otherwise.
        """
        token_dir = self._arc_keys.token_dir
        if token_dir is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return token_dir

    @property
    def service_fabric_url(self) -> str:
        """``https://HOST:PORT`` of the TLS port (started, with its certificate, on first use)."""
        self.url  # noqa: B018 - raises when not running
        server, _ = self._tls.ensure_started()
        return "https" + self._url_for(server.port)[4:]

    @property
    def service_fabric_thumbprint(self) -> str:
        """SHA-1 thumbprint (lower-case hex) of the TLS port's certificate."""
        self.service_fabric_url  # noqa: B018 - starts the TLS port
        _, certificate = self._tls.ensure_started()
        return certificate.thumbprint

    @property
    def service_fabric_tls_stats(self) -> TlsStats | None:
        """Completed TLS handshakes and request bytes received on the TLS port."""
        return self._tls.stats

    def env(self, kind: ManagedIdentitySourceKind | str) -> dict[str, str]:
        """Environment variables that point the library at this emulator as ``kind``."""
        spec = SOURCES.get(ManagedIdentitySourceKind(kind))
        if spec is None:
            served = ", ".join(self.sources)
            raise ValueError(f"the emulator does not serve {kind!s} yet; it serves {served}")
        if spec.kind in TLS_ONLY:
            env = spec.env(self.service_fabric_url, self._context.identity_header)
            return {**env, "IDENTITY_SERVER_THUMBPRINT": self.service_fabric_thumbprint}
        return spec.env(self.url, self._context.identity_header)

    # Recording and faults ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, in arrival order."""
        return self._recorder.snapshot()

    @property
    def request_count(self) -> int:
        """How many requests arrived (any path) since start or the last reset."""
        return self._recorder.count()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` requests have arrived; False if ``timeout`` passes first.

        It blocks the calling thread: from async code use ``anyio.to_thread.run_sync``.
        """
        return self._recorder.wait_for(count, timeout)

    def reset(self) -> None:
        """Forget recorded requests and pending faults."""
        self._recorder.clear()
        self._faults.clear()

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Give the next ``times`` token requests ``fault`` (after faults already queued)."""
        self._faults.push(fault, times)

    # Serving (runs on handler threads) ---------------------------------------------------

    def _dispatch(self, request: Incoming, tls: bool = False) -> Answer:
        spec = _ROUTES.get(request.path)
        if spec is not None and (spec.kind in TLS_ONLY) != tls:
            spec = None
        recorded = RecordedRequest.of(request, "" if spec is None else spec.kind.value)
        self._recorder.add(recorded)
        if spec is None:
            return Answer(404, b'{"error":"not_found","error_description":"Unknown path"}')
        fault = self._faults.pop()
        if fault is None and self._fault_picker is not None:
            fault = self._fault_picker(recorded)
        if fault is None:
            return spec.handle(request, self._context)
        forced = fault.answer(spec.error)
        if forced is not None:
            return forced
        normal = spec.handle(request, self._context)
        extra = normal.headers + fault.response_headers()
        return attrs.evolve(normal, headers=extra, delay=fault.delay)
