"""A tiny loopback HTTP API for integration tests: records Authorization, answers a script."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1800000000"}}}'
CHALLENGE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common", '
    'error="insufficient_claims", claims="' + base64.b64encode(CLAIMS.encode()).decode() + '"'
)


class Target:
    """Records the ``Authorization`` header of each request; answers 200 unless scripted."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()
        self.url = ""

    def challenge_next(self, times: int = 1) -> None:
        """Answer the next ``times`` requests with a 401 claims challenge."""
        self.script.extend([(401, {"WWW-Authenticate": CHALLENGE})] * times)

    def answer(self, authorization: str | None) -> tuple[int, dict[str, str]]:
        with self._lock:
            self.authorizations.append(authorization)
            return self.script.pop(0) if self.script else (200, {})

    @property
    def tokens(self) -> list[str]:
        return [(a or "").removeprefix("Bearer ") for a in self.authorizations]


def _handler(target: Target) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            status, headers = target.answer(self.headers.get("Authorization"))
            body = b'{"ok":true}' if status == 200 else b'{"error":"challenge"}'
            self.send_response(status)
            for name, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_target() -> Iterator[Target]:
    """Serve a :class:`Target` on 127.0.0.1 (free port) for the ``with`` block."""
    target = Target()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(target))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    target.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield target
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
