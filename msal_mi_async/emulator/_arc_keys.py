"""The emulated Arc agent's challenge keys: a random key per challenge, in a real file."""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import shutil
import tempfile
import threading
import uuid

__all__ = ["ArcKeys"]


class ArcKeys:
    """Writes ``<token_dir>/<uuid>.key`` per challenge; each key answers one request.

    Without a ``token_dir``, :meth:`open` makes a private temporary one and
    :meth:`close` removes it.
    """

    def __init__(self, token_dir: str | None = None) -> None:
        self._given = token_dir
        self.token_dir = token_dir
        self._lock = threading.Lock()
        self._issued: dict[str, str] = {}  # key -> file path

    def open(self) -> None:
        """Make the temporary token directory, when none was given."""
        if self.token_dir is None:
            self.token_dir = tempfile.mkdtemp(prefix="msal-mi-arc-tokens-")

    def close(self) -> None:
        """Remove outstanding key files, and the directory if it was ours."""
        self.discard_all()
        if self._given is None and self.token_dir is not None:
            shutil.rmtree(self.token_dir, ignore_errors=True)
            self.token_dir = None

    def __repr__(self) -> str:
        return f"ArcKeys(token_dir={self.token_dir!r})"

    def challenge(self) -> str:
        """Write a new key file and return its path (the ``realm`` of the challenge)."""
        if self.token_dir is None:
            raise RuntimeError("the emulator is not running")
        key = secrets.token_urlsafe(32)
        path = os.path.join(self.token_dir, f"{uuid.uuid4()}.key")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "w", encoding="ascii") as handle:
            handle.write(key)
        with self._lock:
            self._issued[key] = path
        return path

    def redeem(self, presented: str) -> bool:
        """True (once) when ``presented`` is an issued key; its file is then removed."""
        with self._lock:
            match = next((key for key in self._issued if hmac.compare_digest(key, presented)), None)
            path = self._issued.pop(match) if match is not None else None
        if path is not None:
            _remove(path)
        return path is not None

    def discard_all(self) -> None:
        """Remove every outstanding key file."""
        with self._lock:
            paths, self._issued = list(self._issued.values()), {}
        for path in paths:
            _remove(path)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
