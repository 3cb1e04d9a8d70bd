"""The AWS probes' settings: region, the Roles Anywhere ARNs, the client certificate and its key (checked to
belong together), the secret's name, and botocore's own endpoint and CA settings."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from jobs import defaults
from jobs.settings.parse import SettingsError, aws_endpoint_url, endpoint_url, flag, shown, text, whole

REQUIRED = (
    "IAM_TRUST_ANCHOR_ARN",
    "IAM_PROFILE_ARN",
    "IAM_ROLE_ARN",
    "IAM_CLIENT_CERT",
    "IAM_CLIENT_KEY",
    "SECRETS_MANAGER_SECRET_NAME",
)
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_ARN = {
    "IAM_TRUST_ANCHOR_ARN": re.compile(r"^arn:aws[a-z-]*:rolesanywhere:[a-z0-9-]+:\d{12}:trust-anchor/[\w-]+$"),
    "IAM_PROFILE_ARN": re.compile(r"^arn:aws[a-z-]*:rolesanywhere:[a-z0-9-]+:\d{12}:profile/[\w-]+$"),
    "IAM_ROLE_ARN": re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"),
}


@dataclass(frozen=True)
class AwsSettings:
    region: str
    trust_anchor_arn: str
    profile_arn: str
    role_arn: str
    secret_name: str
    certificate_pem: bytes
    chain_pem: bytes | None
    # The private key lives only in memory, never on disk, never in a repr.
    private_key_pem: bytes = field(repr=False)
    rolesanywhere_endpoint: str | None = None
    # botocore's own per-service endpoint settings, read here so every setting has one reader.
    sts_endpoint_url: str | None = None
    secretsmanager_endpoint_url: str | None = None
    ca_bundle: str | None = None
    cert_warn_days: int = defaults.CERT_WARN_DAYS
    write_check: bool = False

    @property
    def endpoint(self) -> str:
        return self.rolesanywhere_endpoint or f"rolesanywhere.{self.region}.amazonaws.com"

    @property
    def secretsmanager_endpoint(self) -> str:
        if self.secretsmanager_endpoint_url:
            return urlsplit(self.secretsmanager_endpoint_url).netloc
        return f"secretsmanager.{self.region}.amazonaws.com"


def _pem(env: Mapping[str, str], name: str) -> bytes:
    """A PEM given as base64 of the PEM (the documented form) or as the PEM itself."""
    raw = text(env, name) or ""
    if raw.startswith("-----BEGIN"):
        return raw.encode("utf-8", "surrogatepass")  # os.environ keeps undecodable bytes as surrogates
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError(f"{name}: expected the base64 of a PEM file (base64 -w0 file.pem)") from None
    if b"-----BEGIN" not in data:
        raise SettingsError(f"{name}: the base64 decodes to something that is not a PEM file")
    return data


def _client_identity(env: Mapping[str, str]) -> tuple[bytes, bytes | None, bytes]:
    """(certificate, chain, key) PEMs, each readable, and the key the one of the certificate."""
    cert_pem = _pem(env, "IAM_CLIENT_CERT")
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise SettingsError("IAM_CLIENT_CERT: not a readable X.509 certificate in PEM form") from None
    chain_pem = _pem(env, "IAM_CLIENT_CHAIN") if text(env, "IAM_CLIENT_CHAIN") else None
    if chain_pem is not None:
        try:
            x509.load_pem_x509_certificates(chain_pem)
        except ValueError:
            raise SettingsError("IAM_CLIENT_CHAIN: not readable X.509 certificates in PEM form") from None
    key_pem = _pem(env, "IAM_CLIENT_KEY")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise SettingsError("IAM_CLIENT_KEY: not a readable unencrypted RSA or EC private key in PEM form") from None
    der, public = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(der, public) != certificate.public_key().public_bytes(der, public):
        raise SettingsError("IAM_CLIENT_KEY: this key does not belong to the IAM_CLIENT_CERT certificate")
    return cert_pem, chain_pem, key_pem


def read(env: Mapping[str, str]) -> AwsSettings | None:
    """The AWS probes' settings; None when none of the required ones is set."""
    given = [name for name in REQUIRED if text(env, name)]
    if not given:
        return None
    missing = [name for name in REQUIRED if name not in given]
    if missing:
        raise SettingsError(f"{missing[0]}: missing (the AWS probes need all of {', '.join(REQUIRED)})")
    region = text(env, "AWS_REGION") or text(env, "AWS_DEFAULT_REGION")
    if not region or not _REGION.match(region):
        raise SettingsError(f"AWS_REGION: expected an AWS region such as us-east-1, got {shown(region)}")
    for name, pattern in _ARN.items():
        if not pattern.match(text(env, name) or ""):
            raise SettingsError(f"{name}: not a valid ARN of that kind (expected {pattern.pattern})")
    cert_pem, chain_pem, key_pem = _client_identity(env)

    endpoint = text(env, "AWS_ENDPOINT_URL_ROLESANYWHERE")
    if endpoint:
        endpoint = endpoint_url(endpoint, "AWS_ENDPOINT_URL_ROLESANYWHERE", ("https",)).netloc
    service_urls = {}
    # botocore itself reads AWS_ENDPOINT_URL for a service whose own endpoint is not given.
    for name in ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"):
        service_urls[name] = text(env, name)
        if service_urls[name]:
            aws_endpoint_url(service_urls[name] or "", name)
    ca_bundle = text(env, "AWS_CA_BUNDLE")
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise SettingsError(f"AWS_CA_BUNDLE: no such file {shown(ca_bundle)}")
    return AwsSettings(
        region=region,
        trust_anchor_arn=text(env, "IAM_TRUST_ANCHOR_ARN") or "",
        profile_arn=text(env, "IAM_PROFILE_ARN") or "",
        role_arn=text(env, "IAM_ROLE_ARN") or "",
        secret_name=text(env, "SECRETS_MANAGER_SECRET_NAME") or "",
        certificate_pem=cert_pem,
        chain_pem=chain_pem,
        private_key_pem=key_pem,
        rolesanywhere_endpoint=endpoint,
        sts_endpoint_url=service_urls["AWS_ENDPOINT_URL_STS"],
        secretsmanager_endpoint_url=service_urls["AWS_ENDPOINT_URL_SECRETS_MANAGER"],
        ca_bundle=ca_bundle,
        cert_warn_days=whole(env, "CERT_WARN_DAYS", defaults.CERT_WARN_DAYS, 0, 365),
        write_check=flag(env, "SECRETS_MANAGER_WRITE", False),
    )
