"""What the IAM Roles Anywhere emulator (rolesanywhere.py) checks of a CreateSession before it hands out
credentials, and the answer it builds from STS's: pure, raising `Rejected` with AWS's status, error type and
message. Development only: the product never imports this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

SERVICE = "rolesanywhere"  # AWS's signing name of the service
MAX_SKEW = timedelta(minutes=5)
MIN_DURATION, MAX_DURATION = 900, 43200
_AUTHORIZATION = re.compile(
    r"^(?P<algorithm>AWS4-X509-(?P<key>RSA|ECDSA)-SHA256) "
    r"Credential=(?P<serial>\d+)/(?P<scope>(?P<date>\d{8})/(?P<region>[^/,]+)/(?P<service>[^/,]+)/aws4_request), ?"
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), ?Signature=(?P<signature>[0-9a-f]+)$"
)
_REQUIRED_SIGNED = ("host", "x-amz-date", "x-amz-x509")


class Rejected(Exception):
    """A CreateSession the service refuses: HTTP status, AWS error type and message."""

    def __init__(self, status: int, error_type: str, message: str):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def _denied(message: str) -> Rejected:
    return Rejected(403, "AccessDeniedException", message)


def _invalid(message: str) -> Rejected:
    return Rejected(400, "ValidationException", message)


@dataclass(frozen=True)
class Profile:
    role_arns: tuple[str, ...]
    # The profile's durationSeconds: the longest session it grants.
    duration_seconds: int = 3600


@dataclass(frozen=True)
class Config:
    region: str
    # Trust anchor ARN -> PEM of its CA certificate(s).
    trust_anchors: Mapping[str, bytes]
    profiles: Mapping[str, Profile]


@dataclass(frozen=True)
class SessionRequest:
    """A CreateSession that passed every check."""

    certificate: x509.Certificate
    trust_anchor_arn: str
    profile_arn: str
    role_arn: str
    duration_seconds: int

    @property
    def common_name(self) -> str:
        names = self.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""

    @property
    def session_name(self) -> str:
        # AWS names the role session after the certificate's serial number, in hex.
        return format(self.certificate.serial_number, "x")


def _der_certificates(value: str, header: str) -> list[x509.Certificate]:
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(part, validate=True)) for part in value.split(",")]
    except (binascii.Error, ValueError):
        raise _denied(f"{header} is not a base64-encoded DER X.509 certificate") from None


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise _denied(f"Missing required header {name}")


def _check_signature(
    method: str, path: str, headers: Mapping[str, str], body: bytes, region: str, now: datetime
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    auth = _AUTHORIZATION.match(_header(headers, "authorization"))
    if auth is None:
        raise _denied(
            "Authorization header is not 'AWS4-X509-RSA-SHA256|AWS4-X509-ECDSA-SHA256 "
            "Credential=<serial>/<date>/<region>/rolesanywhere/aws4_request, SignedHeaders=..., Signature=<hex>'"
        )
    amz_date = _header(headers, "x-amz-date")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise _denied(f"X-Amz-Date {amz_date!r} is not in the form YYYYMMDD'T'HHMMSS'Z'") from None
    if abs(now - signed_at) > MAX_SKEW:
        fmt = "%Y%m%dT%H%M%SZ"
        raise _denied(
            f"Signature expired: {amz_date} is outside {(now - MAX_SKEW):{fmt}} .. {(now + MAX_SKEW):{fmt}} "
            f"(the request time must be within 5 minutes of the server time {now:{fmt}})"
        )
    if auth["date"] != amz_date[:8]:
        raise _denied(f"Credential should be scoped to a valid date: {auth['date']} is not the date of X-Amz-Date")
    if auth["region"] != region:
        raise _denied(f"Credential should be scoped to a valid region, not '{auth['region']}' (expected '{region}')")
    if auth["service"] != SERVICE:
        raise _denied(f"Credential should be scoped to correct service: '{SERVICE}', not '{auth['service']}'")
    signed = auth["signed"].split(";")
    missing = [name for name in _REQUIRED_SIGNED if name not in signed]
    if missing:
        raise _denied(f"SignedHeaders must include {', '.join(missing)}")

    certificate = _der_certificates(_header(headers, "x-amz-x509"), "X-Amz-X509")[0]
    chain_value = next((v for k, v in headers.items() if k.lower() == "x-amz-x509-chain"), None)
    chain = _der_certificates(chain_value, "X-Amz-X509-Chain") if chain_value else []
    if auth["serial"] != str(certificate.serial_number):
        raise _denied("The serial number in the Credential is not the serial number of the X-Amz-X509 certificate")
    public_key = certificate.public_key()
    key_kind = "RSA" if isinstance(public_key, rsa.RSAPublicKey) else "ECDSA"
    if key_kind != auth["key"] or not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise _denied(f"Algorithm {auth['algorithm']} does not match the certificate's {key_kind} key")

    # Canonicalise exactly the signed headers, with botocore's SigV4 code, as the client did.
    request = AWSRequest(
        method=method,
        url=f"https://{_header(headers, 'host')}{path}",
        data=body,
        headers={name: _header(headers, name) for name in signed},
    )
    body_hash = hashlib.sha256(body).hexdigest()
    if "x-amz-content-sha256" in signed and _header(headers, "x-amz-content-sha256") != body_hash:
        raise _denied("X-Amz-Content-SHA256 does not match the request body")
    sigv4 = SigV4Auth(None, SERVICE, region)
    canonical = sigv4.canonical_request(request)
    string_to_sign = "\n".join(
        (auth["algorithm"], amz_date, auth["scope"], hashlib.sha256(canonical.encode()).hexdigest())
    )
    try:
        signature = bytes.fromhex(auth["signature"])
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, string_to_sign.encode(), padding.PKCS1v15(), SHA256())
        else:
            public_key.verify(signature, string_to_sign.encode(), ec.ECDSA(SHA256()))
    except (InvalidSignature, ValueError):
        raise _denied(
            "The request signature we calculated does not match the signature you provided "
            "(checked with the public key of the X-Amz-X509 certificate)"
        ) from None
    return certificate, chain


def _check_certificate(certificate: x509.Certificate, chain: list[x509.Certificate], ca_pem: bytes, now: datetime):
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    if now > certificate.not_valid_after_utc:
        expired = certificate.not_valid_after_utc
        raise _denied(f"Certificate expired at {expired:{fmt}} (serial {certificate.serial_number})")
    if now < certificate.not_valid_before_utc:
        raise _denied(f"Certificate is not valid before {certificate.not_valid_before_utc:{fmt}}")
    verifier = (
        PolicyBuilder()
        .store(Store(x509.load_pem_x509_certificates(ca_pem)))
        .time(now)
        # Roles Anywhere does not require a SAN or an EKU on the end-entity certificate; CAs keep the WebPKI rules.
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all())
        .build_client_verifier()
    )
    try:
        verifier.verify(certificate, chain)
    except VerificationError as exc:
        raise _denied(f"Untrusted certificate: no valid chain to the trust anchor's CA ({exc})") from None


def _body(body: bytes) -> dict[str, object]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise _invalid("The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _invalid("The request body must be a JSON object")
    for name in ("trustAnchorArn", "profileArn", "roleArn"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise _invalid(f"{name} is required")
    duration = data.get("durationSeconds", 3600)
    if not isinstance(duration, int) or isinstance(duration, bool) or not MIN_DURATION <= duration <= MAX_DURATION:
        accepted = f"a whole number from {MIN_DURATION} to {MAX_DURATION}"
        raise _invalid(f"durationSeconds must be {accepted}, got {duration!r}")
    return data


def verify_create_session(
    config: Config, method: str, path: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> SessionRequest:
    """Every check CreateSession makes, in AWS's order (authenticate, then authorise). Raises `Rejected`."""
    certificate, chain = _check_signature(method, path, headers, body, config.region, now)
    data = _body(body)
    anchor, profile_arn, role_arn = str(data["trustAnchorArn"]), str(data["profileArn"]), str(data["roleArn"])
    if anchor not in config.trust_anchors:
        raise _denied(f"Unknown or disabled trust anchor {anchor}")
    _check_certificate(certificate, chain, config.trust_anchors[anchor], now)
    profile = config.profiles.get(profile_arn)
    if profile is None:
        raise _denied(f"Unknown or disabled profile {profile_arn}")
    if role_arn not in profile.role_arns:
        raise _denied(f"Role {role_arn} is not one of the roles of profile {profile_arn}")
    duration = int(data.get("durationSeconds", 3600))  # type: ignore[call-overload]
    if duration > profile.duration_seconds:
        raise _invalid(f"durationSeconds {duration} exceeds the profile's maximum of {profile.duration_seconds}")
    return SessionRequest(certificate, anchor, profile_arn, role_arn, duration)


# Issues credentials for a verified request: (role_arn, session_name, source_identity, duration) -> STS-shaped dict.
AssumeRole = Callable[[str, str, str, int], dict]


def session_response(request: SessionRequest, assumed: dict, region: str) -> dict[str, object]:
    """The CreateSession response body, shaped as AWS's, from an STS AssumeRole response."""
    credentials = assumed["Credentials"]
    expiration = credentials["Expiration"]
    if isinstance(expiration, datetime):
        expiration = expiration.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    account = request.role_arn.split(":")[4]
    subject_id = uuid.uuid5(uuid.NAMESPACE_OID, request.certificate.subject.rfc4514_string())
    return {
        "credentialSet": [
            {
                "assumedRoleUser": {
                    "arn": assumed["AssumedRoleUser"]["Arn"],
                    "assumedRoleId": assumed["AssumedRoleUser"]["AssumedRoleId"],
                },
                "credentials": {
                    "accessKeyId": credentials["AccessKeyId"],
                    "secretAccessKey": credentials["SecretAccessKey"],
                    "sessionToken": credentials["SessionToken"],
                    "expiration": expiration,
                },
                "packedPolicySize": assumed.get("PackedPolicySize", 0),
                "roleArn": request.role_arn,
                "sourceIdentity": f"CN={request.common_name}",
            }
        ],
        "subjectArn": f"arn:aws:rolesanywhere:{region}:{account}:subject/{subject_id}",
    }
