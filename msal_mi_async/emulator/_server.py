"""The HTTP/1.1 keep-alive server on a daemon thread, and its lifecycle."""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._wire import Answer, Incoming, parse_incoming

__all__ = ["Dispatch", "ServerThread", "TlsStats"]

Dispatch = Callable[[Incoming], Answer]

_MAX_BODY = 1 << 20
_log = logging.getLogger("msal_mi_async.emulator")


class TlsStats:
    """What a TLS server saw below HTTP: completed handshakes and request bytes read."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.handshakes = 0
        self.bytes_received = 0

    def count(self, *, handshakes: int = 0, received: int = 0) -> None:
        with self._lock:
            self.handshakes += handshakes
            self.bytes_received += received
            self._lock.notify_all()

    def wait_for_handshakes(self, count: int, timeout: float) -> bool:
        """Block until ``count`` handshakes completed; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self.handshakes >= count, timeout)


class _CountingReader:
    """Wraps a handler's ``rfile`` so every byte of request data is counted."""

    def __init__(self, inner: Any, stats: TlsStats) -> None:
        self._inner = inner
        self._stats = stats

    def readline(self, limit: int = -1) -> bytes:
        return self._counted(self._inner.readline(limit))

    def read(self, size: int = -1) -> bytes:
        return self._counted(self._inner.read(size))

    def _counted(self, data: bytes) -> bytes:
        self._stats.count(received=len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Handler(BaseHTTPRequestHandler):
    """Parses a request, asks the dispatcher, writes the answer in one send."""

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "msal-mi-emulator/1"
    sys_version = ""
    disable_nagle_algorithm = True
    wbufsize = -1  # buffered: headers and body leave in a single write
    timeout = 60.0  # idle keep-alive connections end eventually

    def setup(self) -> None:
        """Plain HTTP; or, on a TLS server, the handshake first and counted reads."""
        super().setup()
        stats = self.server.tls_stats
        if stats is not None:
            self.connection.do_handshake()
            stats.count(handshakes=1)
            self.rfile = _CountingReader(self.rfile, stats)  # type: ignore[assignment]

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: requests carry secrets, and tests want quiet output."""

    def address_string(self) -> str:
        """No reverse DNS lookups."""
        return str(self.client_address[0])

    def finish(self) -> None:
        """Flush and close, tolerating a peer that already went away."""
        try:
            super().finish()
        except OSError:
            self.rfile.close()

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = parse_incoming(self.command, self.path, headers, body)
        try:
            answer = self.server.dispatch(request)
        except Exception:
            _log.exception("emulator failed to answer %s %s", request.method, request.path)
            answer = Answer(500, b"emulator internal error", (), "text/plain")
        if answer.delay > 0 and self.server.stopping.wait(answer.delay):
            answer = Answer(0, drop=True)
        if answer.drop:
            self.close_connection = True
            return
        self._write(answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._write(Answer(411, b"chunked request bodies are not supported", (), "text/plain"))
            self.close_connection = True
            return None
        length_text = self.headers.get("Content-Length") or "0"
        length = int(length_text) if length_text.isdigit() else -1
        if not 0 <= length <= _MAX_BODY:
            self._write(Answer(400, b"bad or too large Content-Length", (), "text/plain"))
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _write(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)


class _Server(ThreadingHTTPServer):
    """Tracks open connections so stopping can cut them off."""

    daemon_threads = True
    block_on_close = True  # server_close() joins the handler threads
    request_queue_size = 1024

    def __init__(
        self, address: tuple[str, int], dispatch: Dispatch, tls: ssl.SSLContext | None
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.dispatch = dispatch
        self.tls = tls
        self.tls_stats = TlsStats() if tls is not None else None
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)
        self.socket.setblocking(False)

    def server_bind(self) -> None:
        """Bind without ``HTTPServer``'s ``getfqdn`` DNS lookup."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept; on a TLS server wrap the socket (the handshake runs on the handler thread)."""
        connection, address = super().get_request()
        if self.tls is not None:
            connection = self.tls.wrap_socket(
                connection, server_side=True, do_handshake_on_connect=False
            )
        return connection, address

    def accept_one(self) -> None:
        """Accept a pending connection, if it is still there, and serve it on a thread."""
        try:
            request, address = self.get_request()
        except OSError:
            return
        with self._open_lock:
            self._open.add(request)
        try:
            self.process_request(request, address)
        except Exception:
            self.shutdown_request(request)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Shut down every open connection so its handler thread ends promptly."""
        with self._open_lock:
            open_now = list(self._open)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silent: a client hanging up is not an error worth a traceback."""


class ServerThread:
    """Owns the server, its accept loop thread and the wake-up pipe; one start, one stop."""

    def __init__(
        self, host: str, port: int, dispatch: Dispatch, tls: ssl.SSLContext | None = None
    ) -> None:
        self._server = _Server((host, port), dispatch, tls)
        self._wake_read, self._wake_write = socket.socketpair()
        self._thread = threading.Thread(
            target=self._loop, name=f"msal-mi-emulator:{self.port}", daemon=True
        )
        self._thread.start()

    @property
    def tls_stats(self) -> TlsStats | None:
        """Handshake and byte counts, on a TLS server."""
        return self._server.tls_stats

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    def _loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._server.socket, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_read:
                        return
                    self._server.accept_one()

    def stop(self) -> None:
        """Stop accepting, cut open connections, join every thread, close every socket."""
        self._server.stopping.set()
        self._wake_write.send(b"\0")
        self._thread.join()
        self._server.cut_connections()
        self._server.server_close()
        self._wake_read.close()
        self._wake_write.close()
