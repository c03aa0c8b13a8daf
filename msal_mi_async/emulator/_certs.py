"""A throw-away self-signed TLS certificate for the emulated Service Fabric endpoint.

Made with the ``cryptography`` package when installed (extra ``[emulator]``), else with
the ``openssl`` command; without either, only Service Fabric is unavailable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import shutil
import ssl
import subprocess
import tempfile

import attrs

__all__ = ["CertificateUnavailable", "ServerCertificate", "make_certificate"]


class CertificateUnavailable(RuntimeError):
    """No way to make a certificate here: Service Fabric cannot be emulated."""


@attrs.frozen
class ServerCertificate:
    """PEM certificate and key, and the certificate's SHA-1 thumbprint (lower-case hex)."""

    cert_pem: bytes
    key_pem: bytes = attrs.field(repr=False)

    @property
    def thumbprint(self) -> str:
        der = ssl.PEM_cert_to_DER_cert(self.cert_pem.decode("ascii"))
        return hashlib.sha1(der, usedforsecurity=False).hexdigest()

    def server_context(self) -> ssl.SSLContext:
        """A server-side SSLContext presenting this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="msal-mi-emulator-tls-") as folder:
            cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
            _write_private(cert, self.cert_pem)
            _write_private(key, self.key_pem)
            context.load_cert_chain(cert, key)
        return context


def _write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "wb") as handle:
        handle.write(data)


def make_certificate() -> ServerCertificate:
    """A fresh EC P-256 certificate for ``localhost`` / ``127.0.0.1``, valid for 30 days."""
    try:
        return _with_cryptography()
    except ImportError:
        pass
    if shutil.which("openssl") is not None:
        return _with_openssl()
    raise CertificateUnavailable(
        "emulating Service Fabric needs a TLS certificate: install the 'cryptography' "
        "package (pip install 'msal_mi_async[emulator]') or the openssl command"
    )


def _with_cryptography() -> ServerCertificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return ServerCertificate(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def _with_openssl() -> ServerCertificate:
    with tempfile.TemporaryDirectory(prefix="msal-mi-emulator-tls-") as folder:
        cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        command = [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=localhost",
        ]  # fmt: skip
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=30)  # noqa: S603
        except (OSError, subprocess.SubprocessError) as exc:
            raise CertificateUnavailable(f"openssl could not make a certificate: {exc}") from exc
        with open(cert, "rb") as cert_file, open(key, "rb") as key_file:
            return ServerCertificate(cert_file.read(), key_file.read())
