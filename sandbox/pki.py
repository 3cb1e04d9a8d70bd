"""A development-only PKI for the local AWS sandbox: a CA, client certificates it signs, a TLS server certificate.

The CA stands in for the trust anchor of IAM Roles Anywhere; the client certificate is what the app presents
(as a real workload would present one from its own CA); the server certificate lets the Roles Anywhere
emulator speak HTTPS on 127.0.0.1, trusted through `AWS_CA_BUNDLE`. Nothing here is fit for production.
Generation functions are pure (they return PEM bytes); `ensure_pki` writes and reuses files in a directory.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "DEVELOPMENT ONLY — hybrid-monitor sandbox CA"
KeyType = Literal["rsa", "ecdsa"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Pem:
    """A certificate and its private key, PEM-encoded."""

    cert: bytes
    key: bytes


def _new_key(key_type: KeyType) -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"key_type: expected 'rsa' or 'ecdsa', got {key_type!r}")


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hybrid-monitor (development only)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _validity(not_before: datetime | None, days: float) -> tuple[datetime, datetime]:
    start = not_before or datetime.now(UTC) - timedelta(minutes=5)
    return start, start + timedelta(days=days)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def make_ca(common_name: str = CA_NAME, key_type: KeyType = "rsa", days: float = 3650) -> Pem:
    """A self-signed CA certificate (the trust anchor) and its key."""
    key = _new_key(key_type)
    start, end = _validity(None, days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Pem(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _issue(
    ca: Pem,
    common_name: str,
    key_type: KeyType,
    days: float,
    not_before: datetime | None,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> Pem:
    ca_cert = x509.load_pem_x509_certificate(ca.cert)
    ca_key = serialization.load_pem_private_key(ca.key, password=None)
    key = _new_key(key_type)
    start, end = _validity(not_before, days)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return Pem(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def make_client_cert(
    ca: Pem,
    common_name: str = "hybrid-monitor-workload",
    key_type: KeyType = "rsa",
    days: float = 365,
    not_before: datetime | None = None,
) -> Pem:
    """A client certificate signed by `ca`. A past `not_before` with few `days` gives an expired one."""
    client_auth = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    return _issue(ca, common_name, key_type, days, not_before, [(client_auth, False)])


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def make_server_cert(ca: Pem, days: float = 365, names: tuple[str, ...] = ("localhost", "127.0.0.1")) -> Pem:
    """A TLS server certificate for `names` (host names or IP addresses), signed by `ca`."""
    alt_names = x509.SubjectAlternativeName([_general_name(name) for name in names])
    server_auth = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    return _issue(ca, names[-1], "rsa", days, None, [(alt_names, False), (server_auth, False)])


@dataclass(frozen=True)
class SandboxPki:
    ca: Pem
    client: Pem
    server: Pem
    ca_path: Path
    server_cert_path: Path
    server_key_path: Path


_FILES = ("ca.pem", "ca.key", "client.pem", "client.key", "server.pem", "server.key")


def _usable(cert_pem: bytes, margin: timedelta) -> bool:
    cert = x509.load_pem_x509_certificate(cert_pem)
    return cert.not_valid_after_utc - margin > datetime.now(UTC)


def _write(path: Path, data: bytes, private: bool) -> None:
    path.write_bytes(data)
    if private:
        os.chmod(path, 0o600)


def ensure_pki(directory: Path, key_type: KeyType = "rsa") -> SandboxPki:
    """Reuse the PKI in `directory`, or create it (again) when a file is missing or a certificate is near expiry."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / name for name in _FILES}
    margin = timedelta(days=31)
    try:
        pems = {name: path.read_bytes() for name, path in paths.items()}
        reuse = all(_usable(pems[name], margin) for name in ("ca.pem", "client.pem", "server.pem"))
    except (OSError, ValueError):
        reuse = False
    if reuse:
        ca = Pem(pems["ca.pem"], pems["ca.key"])
        client = Pem(pems["client.pem"], pems["client.key"])
        server = Pem(pems["server.pem"], pems["server.key"])
    else:
        ca = make_ca()
        client = make_client_cert(ca, key_type=key_type)
        server = make_server_cert(ca)
        for name, data in zip(_FILES, (ca.cert, ca.key, client.cert, client.key, server.cert, server.key), strict=True):
            _write(paths[name], data, private=name.endswith(".key"))
    return SandboxPki(ca, client, server, paths["ca.pem"], paths["server.pem"], paths["server.key"])
