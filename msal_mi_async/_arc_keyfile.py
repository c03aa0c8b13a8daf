"""Reading the Azure Arc challenge key file safely (protocol.md §3).

The path comes from the network, so it is checked before anything is read: a ``.key``
file directly in the agent's fixed token directory, still inside it once symlinks are
resolved, a regular file of at most 4096 bytes.  The read runs in a worker thread.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

import anyio.to_thread

from ._errors import (
    ErrorCode,
    ManagedIdentityConfigurationError,
    ManagedIdentityError,
    ManagedIdentityResponseError,
)
from ._http import ReadKeyFile
from ._kinds import ManagedIdentitySourceKind
from ._platform import Platform

__all__ = ["MAX_KEY_BYTES", "ArcKeyFileReader", "arc_token_dir"]

MAX_KEY_BYTES = 4096
LINUX_TOKEN_DIR = "/var/opt/azcmagent/tokens"
_ARC = ManagedIdentitySourceKind.AZURE_ARC
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def arc_token_dir(platform: Platform, env: Mapping[str, str]) -> str:
    """The agent's fixed token directory on this platform; raises where Arc is unsupported."""
    if platform.is_linux:
        return LINUX_TOKEN_DIR
    if platform.is_windows:
        program_data = (env.get("ProgramData") or "").strip() or "C:\\ProgramData"
        return program_data + "\\AzureConnectedMachineAgent\\Tokens"
    raise ManagedIdentityConfigurationError(
        f"Azure Arc managed identity is not supported on this platform ({platform.system}); "
        "only Linux and Windows",
        error_code=ErrorCode.REQUEST_FAILED,
        source=_ARC,
    )


def _refused(path: str, why: str) -> ManagedIdentityResponseError:
    return ManagedIdentityResponseError(
        f"Refusing the Azure Arc challenge key file {path!r}: {why}",
        error_code=ErrorCode.REQUEST_FAILED,
        source=_ARC,
    )


class ArcKeyFileReader:
    """Reads challenge key files for :class:`AzureArcSource`; pass as ``read_key_file=``.

    ``token_dir`` replaces the agent's fixed directory (tests and the emulator only).
    """

    def __init__(self, platform: Platform | None = None, *, token_dir: str | None = None) -> None:
        self._platform = platform or Platform()
        self._token_dir = token_dir

    def __repr__(self) -> str:
        return f"ArcKeyFileReader(token_dir={self._token_dir!r})"

    async def __call__(self, read: ReadKeyFile) -> str:
        token_dir = self._token_dir or arc_token_dir(self._platform, os.environ)
        return await anyio.to_thread.run_sync(read_key_file, read.path, token_dir)


def read_key_file(path: str, token_dir: str) -> str:
    """Validate ``path`` against ``token_dir``, then return the key (blocking)."""
    real = _checked_location(path, token_dir)
    try:
        return _read_checked(path, real)
    except ManagedIdentityError:
        raise
    except PermissionError as exc:
        raise ManagedIdentityConfigurationError(
            f"Permission denied reading the Azure Arc key file {path!r}: the process user "
            "must be in the 'himds' group (Linux) or the process must run elevated (Windows)",
            error_code=ErrorCode.REQUEST_FAILED,
            source=_ARC,
        ) from exc
    except FileNotFoundError as exc:
        raise _refused(path, "it does not exist") from exc
    except OSError as exc:
        raise _refused(path, f"it cannot be read ({type(exc).__name__})") from exc


def _checked_location(path: str, token_dir: str) -> str:
    """The resolved path, once the name and directory rules hold."""
    parent, name = os.path.split(path)
    if not os.path.isabs(path) or _norm(parent) != _norm(token_dir):
        raise _refused(path, f"it is not directly in the token directory {token_dir!r}")
    if not name.endswith(".key") or name in (".key", ".", ".."):
        raise _refused(path, "its name does not end in .key")
    real = os.path.realpath(path)
    if _norm(os.path.dirname(real)) != _norm(os.path.realpath(token_dir)):
        raise _refused(path, "it resolves to a place outside the token directory")
    return real


def _norm(path: str) -> str:
    return os.path.normcase(path.rstrip("/\\") or path)


def _read_checked(path: str, real: str) -> str:
    """Open without following links, check type and size on the open file, then read."""
    fd = os.open(real, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refused(path, "it is not a regular file")
        if info.st_size > MAX_KEY_BYTES:
            raise _refused(path, f"it is larger than {MAX_KEY_BYTES} bytes")
        data = _read_at_most(fd, MAX_KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_KEY_BYTES:
        raise _refused(path, f"it is larger than {MAX_KEY_BYTES} bytes")
    return _key_text(path, data)


def _read_at_most(fd: int, limit: int) -> bytes:
    data = b""
    while len(data) < limit:
        chunk = os.read(fd, limit - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _key_text(path: str, data: bytes) -> str:
    """The key as header-safe text; the message never shows the key."""
    try:
        key = data.decode("ascii").strip()
    except UnicodeDecodeError:
        key = ""
    if not key or not key.isprintable():
        raise _refused(path, "it does not hold a printable ASCII key")
    return key
