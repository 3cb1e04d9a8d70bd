"""An IAM Roles Anywhere emulator: `POST /sessions` (CreateSession) over HTTPS on 127.0.0.1, for the sandbox.

It checks what AWS checks before it hands out credentials: the X.509 SigV4 variant of the Authorization header
(`AWS4-X509-RSA-SHA256` / `AWS4-X509-ECDSA-SHA256`), the signature over the canonical request (canonicalised by
botocore's own SigV4 code) with the public key of the `X-Amz-X509` certificate, the chain up to the trust
anchor's CA (cryptography's X.509 verifier), the certificate's validity dates, `X-Amz-Date` within 5 minutes,
the credential scope and serial number, the trust anchor / profile / role ARNs and `durationSeconds`.
Credentials come from STS AssumeRole on moto's server, so STS and Secrets Manager there accept them and
GetCallerIdentity names the assumed role. Errors use AWS's REST-JSON shape: `{"message": ...}` plus an
`x-amzn-ErrorType` header. Development only: the product never imports this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import ssl
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

from sandbox.faults import Faults, reason

log = logging.getLogger(__name__)

SERVICE = "rolesanywhere"
# Its name among the sandbox's breakable services (SERVICE is AWS's signing name).
FAULT = "roles_anywhere"
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


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # A client that connects and stalls must not hold a thread forever.
    timeout = 10

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(400, {"message": "Content-Length is not a number"}, "ValidationException")
            return
        body = self.rfile.read(length) if length else b""
        path = self.path
        if path.split("?")[0] != "/sessions":
            self._send(404, {"message": f"No operation at {path}; CreateSession is POST /sessions"}, "UnknownOperation")
            return
        faults = self.server.faults
        if faults is not None and faults.is_broken(FAULT):
            message = f"The trust anchor is disabled ({reason(FAULT)})"
            self._send(403, {"message": message}, "AccessDeniedException")
            return
        try:
            request = verify_create_session(
                self.server.config, "POST", path, dict(self.headers.items()), body, datetime.now(UTC)
            )
            assumed = self.server.assume_role(
                request.role_arn, request.session_name, request.common_name, request.duration_seconds
            )
        except Rejected as exc:
            log.info("CreateSession rejected (%s): %s", exc.status, exc.message)
            self._send(exc.status, {"message": exc.message}, exc.error_type)
            return
        except Exception:  # the sandbox must answer like a service, not drop the connection
            log.exception("CreateSession failed inside the emulator")
            self._send(500, {"message": "Internal failure in the Roles Anywhere emulator"}, "InternalServerException")
            return
        with self.server.lock:
            self.server.sessions_issued += 1
        self._send(201, session_response(request, assumed, self.server.config.region), None)

    def _send(self, status: int, payload: dict[str, object], error_type: str | None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header("x-amzn-ErrorType", f"{error_type}:")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        # Only the request line and status: never headers (they carry the signature).
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    config: Config
    assume_role: AssumeRole
    lock: threading.Lock
    sessions_issued: int
    faults: Faults | None


class RolesAnywhereEmulator:
    """The emulator on https://127.0.0.1:`port` (0 picks a free port), TLS with the given certificate; while
    `faults` says Roles Anywhere is broken, every CreateSession is denied."""

    def __init__(
        self,
        config: Config,
        assume_role: AssumeRole,
        cert_path: Path,
        key_path: Path,
        faults: Faults | None = None,
        port: int = 0,
    ):
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.faults = faults
        self._server.config = config
        self._server.assume_role = assume_role
        self._server.lock = threading.Lock()
        self._server.sessions_issued = 0
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert_path, key_path)
        # The handshake runs in the request's thread, so one slow client cannot stall the accept loop.
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True, do_handshake_on_connect=False)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def sessions_issued(self) -> int:
        """How many CreateSession calls succeeded (lets tests see that credentials are reused)."""
        return self._server.sessions_issued

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> RolesAnywhereEmulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="rolesanywhere-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
