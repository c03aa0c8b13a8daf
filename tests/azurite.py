"""Starting Azurite (the Azure Storage emulator, npm ``azurite``) over HTTPS with OAuth.

Found at ``$AZURITE_BLOB`` (a path to ``azurite-blob``), ``.ci/node`` (where ``.ci/run``
installs it) or on ``PATH``.  ``MSAL_MI_REQUIRE_AZURITE=1`` turns "not found" into a
failure instead of a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import attrs
import pytest

from msal_mi_async.emulator._certs import make_certificate

ACCOUNT = "devstoreaccount1"
_REPO = Path(__file__).resolve().parent.parent


@attrs.frozen
class Azurite:
    account_url: str
    ca_file: str


def find_azurite() -> list[str] | None:
    """The command that starts azurite-blob, or None."""
    explicit = os.environ.get("AZURITE_BLOB")
    local = _REPO / ".ci" / "node" / "node_modules" / ".bin" / "azurite-blob"
    for candidate in (explicit, str(local), shutil.which("azurite-blob")):
        if candidate and Path(candidate).is_file() and shutil.which("node"):
            return [candidate]
    return None


def unavailable(reason: str) -> None:
    """Skip, or fail when the run requires Azurite."""
    if os.environ.get("MSAL_MI_REQUIRE_AZURITE") == "1":
        pytest.fail(f"MSAL_MI_REQUIRE_AZURITE=1 but {reason}")
    pytest.skip(reason)


def write_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    certificate = make_certificate()  # the emulator's own: also a CA, so it can be trusted
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.cert_pem)
    key_path.write_bytes(certificate.key_pem)
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_listening(
    process: subprocess.Popen[bytes], port: int, log: Path, attempts: int = 300
) -> None:
    """Bounded readiness poll: connect until it succeeds (each try waits up to 0.1 s)."""
    for _ in range(attempts):
        if process.poll() is not None:
            output = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"azurite exited with status {process.returncode}:\n{output}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            # Refused connections return at once: give the process a moment to bind.
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
    raise RuntimeError("azurite did not start listening")


@contextmanager
def running_azurite(command: list[str], workdir: Path) -> Iterator[Azurite]:
    """Run azurite-blob with ``--oauth basic`` over HTTPS for the ``with`` block."""
    cert, key = write_certificate(workdir)
    port = _free_port()
    args = [
        *command,
        *("--blobHost", "127.0.0.1", "--blobPort", str(port)),
        *("--oauth", "basic", "--cert", str(cert), "--key", str(key)),
        *("--inMemoryPersistence", "--silent"),
        *("--skipApiVersionCheck", "--loose", "--disableTelemetry"),
    ]
    log_path = workdir / "azurite.log"
    log = log_path.open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        _wait_listening(process, port, log_path)
        yield Azurite(f"https://127.0.0.1:{port}/{ACCOUNT}", str(cert))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
