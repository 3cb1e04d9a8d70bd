"""The development PKI and the Roles Anywhere emulator, over the wire: requests signed by the
iam-rolesanywhere-session library's own signer, some tampered with after signing, sent with urllib3."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import urllib3
from botocore.auth import SIGV4_TIMESTAMP
from botocore.awsrequest import AWSRequest
from cryptography import x509
from iam_rolesanywhere_session import IAMRolesAnywhereSigner

from sandbox.aws import PROFILE_ARN, REGION, ROLE_ARN, TRUST_ANCHOR_ARN, AwsSandbox
from sandbox.pki import CA_NAME, Pem, ensure_pki, make_ca, make_client_cert


def test_pki_is_marked_development_only_and_reused(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path)
    ca = x509.load_pem_x509_certificate(first.ca.cert)
    assert CA_NAME in ca.subject.rfc4514_string()
    client = x509.load_pem_x509_certificate(first.client.cert)
    client.verify_directly_issued_by(ca)
    assert (tmp_path / "client.key").stat().st_mode & 0o077 == 0
    assert ensure_pki(tmp_path) == first
    (tmp_path / "server.pem").unlink()
    assert ensure_pki(tmp_path).ca != first.ca


def test_client_cert_validity_is_configurable() -> None:
    ca = make_ca(key_type="ecdsa")
    expired = make_client_cert(ca, days=1, not_before=datetime.now(UTC) - timedelta(days=3))
    cert = x509.load_pem_x509_certificate(expired.cert)
    assert cert.not_valid_after_utc < datetime.now(UTC)
    with pytest.raises(ValueError, match="key_type"):
        make_client_cert(ca, key_type="dsa")  # type: ignore[arg-type]


def _body(**changes: object) -> dict[str, object]:
    return {
        "durationSeconds": 900,
        "profileArn": PROFILE_ARN,
        "roleArn": ROLE_ARN,
        "trustAnchorArn": TRUST_ANCHOR_ARN,
        **changes,
    }


def _signed(
    sandbox: AwsSandbox, pem: Pem, body: dict[str, object], at: datetime | None = None, region: str = REGION
) -> tuple[dict[str, str], bytes]:
    signer = IAMRolesAnywhereSigner(certificate=pem.cert, private_key=pem.key, region=region)
    request = AWSRequest(method="POST", url=f"{sandbox.emulator.url}/sessions", data=json.dumps(body))
    if at is None:
        signer.add_auth(request)
    else:
        # add_auth with another clock: the library's own steps, at the time given.
        request.context["timestamp"] = at.strftime(SIGV4_TIMESTAMP)
        signer._modify_request_before_signing(request)
        string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
        signer._inject_signature_to_request(request, signer.signature(string_to_sign))
    return dict(request.headers.items()), request.body


def _post(sandbox: AwsSandbox, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, object], str]:
    http = urllib3.PoolManager(ca_certs=str(sandbox.pki.ca_path))
    response = http.request("POST", f"{sandbox.emulator.url}/sessions", headers=headers, body=body)
    return response.status, json.loads(response.data), response.headers.get("x-amzn-ErrorType", "")


@pytest.mark.parametrize("key_type", ["rsa", "ecdsa"])
def test_create_session_returns_aws_shaped_credentials(aws_sandbox: AwsSandbox, key_type: str) -> None:
    pem = make_client_cert(aws_sandbox.pki.ca, key_type=key_type)  # type: ignore[arg-type]
    status, payload, _ = _post(aws_sandbox, *_signed(aws_sandbox, pem, _body()))
    assert status == 201, payload
    (entry,) = payload["credentialSet"]  # type: ignore[misc]
    assert entry["roleArn"] == ROLE_ARN
    assert entry["assumedRoleUser"]["arn"].startswith("arn:aws:sts::123456789012:assumed-role/hybrid-monitor-probe/")
    assert entry["credentials"]["accessKeyId"].startswith("ASIA")
    assert set(entry["credentials"]) == {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}
    assert entry["sourceIdentity"] == "CN=hybrid-monitor-workload"
    assert str(payload["subjectArn"]).startswith(f"arn:aws:rolesanywhere:{REGION}:123456789012:subject/")


def _other_ca_cert(sandbox: AwsSandbox) -> Pem:
    return make_client_cert(make_ca("another CA"))


def _expired_cert(sandbox: AwsSandbox) -> Pem:
    return make_client_cert(sandbox.pki.ca, days=1, not_before=datetime.now(UTC) - timedelta(days=2))


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("body changed after signing", "signature we calculated does not match"),
        ("header changed after signing", "signature we calculated does not match"),
        ("certificate from another CA", "Untrusted certificate"),
        ("expired certificate", "Certificate expired"),
        ("role not in the profile", "is not one of the roles of profile"),
        ("date 10 minutes off", "Signature expired"),
        ("credential scoped to another region", "valid region"),
    ],
)
def test_emulator_denies_like_aws(aws_sandbox: AwsSandbox, case: str, expected: str) -> None:
    pem, body, at, region = aws_sandbox.pki.client, _body(), None, REGION
    if case == "certificate from another CA":
        pem = _other_ca_cert(aws_sandbox)
    elif case == "expired certificate":
        pem = _expired_cert(aws_sandbox)
    elif case == "role not in the profile":
        body = _body(roleArn="arn:aws:iam::123456789012:role/admin")
    elif case == "date 10 minutes off":
        at = datetime.now(UTC) - timedelta(minutes=10)
    elif case == "credential scoped to another region":
        region = "eu-west-1"
    headers, data = _signed(aws_sandbox, pem, body, at, region)
    if case == "body changed after signing":
        data = json.dumps(_body(durationSeconds=3600)).encode()
    elif case == "header changed after signing":
        headers["Content-Type"] = "application/json"
    status, payload, error_type = _post(aws_sandbox, headers, data)
    assert (status, error_type) == (403, "AccessDeniedException:")
    assert list(payload) == ["message"]
    assert expected in str(payload["message"])


@pytest.mark.parametrize("duration", [899, 43201, 7200])
def test_duration_outside_the_bounds_is_a_validation_error(aws_sandbox: AwsSandbox, duration: int) -> None:
    # 7200 is within AWS's bounds but above the sandbox profile's 3600.
    headers, data = _signed(aws_sandbox, aws_sandbox.pki.client, _body(durationSeconds=duration))
    status, payload, error_type = _post(aws_sandbox, headers, data)
    assert (status, error_type) == (400, "ValidationException:")
    assert "durationSeconds" in str(payload["message"])


def test_unsigned_request_is_denied(aws_sandbox: AwsSandbox) -> None:
    status, payload, _ = _post(aws_sandbox, {"Content-Type": "application/json"}, json.dumps(_body()).encode())
    assert status == 403
    assert "authorization" in str(payload["message"]).lower()
