"""The emulator's second, TLS-only port (Service Fabric), started on first use."""

from __future__ import annotations

import threading

from ._certs import ServerCertificate, make_certificate
from ._server import Dispatch, ServerThread, TlsStats

__all__ = ["TlsEndpoint"]


class TlsEndpoint:
    """A self-signed certificate made on first use and a TLS server presenting it."""

    def __init__(self, host: str, dispatch: Dispatch) -> None:
        self._host = host
        self._dispatch = dispatch
        self._lock = threading.Lock()
        self._certificate: ServerCertificate | None = None
        self._server: ServerThread | None = None

    def ensure_started(self) -> tuple[ServerThread, ServerCertificate]:
        """Start (once) and return the server and its certificate.

        Raises CertificateUnavailable when no certificate can be made here.
        """
        with self._lock:
            if self._certificate is None:
                self._certificate = make_certificate()
            if self._server is None:
                context = self._certificate.server_context()
                self._server = ServerThread(self._host, 0, self._dispatch, tls=context)
            return self._server, self._certificate

    @property
    def stats(self) -> TlsStats | None:
        """Handshakes and request bytes seen so far (None before first use)."""
        server = self._server
        return None if server is None else server.tls_stats

    def stop(self) -> None:
        """Stop the TLS server, if it ever started; safe to repeat."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()
