"""The two AWS probes against the sandbox: real HTTPS to the Roles Anywhere emulator, real HTTP to moto."""

from __future__ import annotations

import base64
import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from jobs import settings as settings_module
from jobs import store
from jobs.cycle import run_probes
from jobs.probes import roles_anywhere, secrets_manager
from jobs.result import OUR_OVERHEAD, Status
from sandbox.aws import PROFILE_ARN, REGION, ROLE_ARN, SECRET_NAME, TRUST_ANCHOR_ARN, AwsSandbox
from sandbox.pki import Pem, make_ca, make_client_cert
from sandbox.rolesanywhere import RolesAnywhereEmulator
from sandbox.rolesanywhere_checks import Config, Profile
from tests.conftest import WORKING
from tests.phases import PHASES, assert_phases_account_for_latency


def with_client_cert(env: dict[str, str], pem: Pem) -> dict[str, str]:
    """`env` with another client certificate and key, as base64 of the PEM like the real settings."""
    return {
        **env,
        "IAM_CLIENT_CERT": base64.b64encode(pem.cert).decode(),
        "IAM_CLIENT_KEY": base64.b64encode(pem.key).decode(),
    }


def _run_both(env: dict[str, str]):  # type: ignore[no-untyped-def]
    settings = settings_module.load(env)
    return roles_anywhere.probe(settings), secrets_manager.probe(settings)


@pytest.mark.parametrize("key_type", ["rsa", "ecdsa"])
def test_both_probes_up(aws_sandbox: AwsSandbox, aws_env: dict[str, str], key_type: str) -> None:
    # A 30 s timeout: only a check slower than 15 s is degraded, so the up path reads `up` on a loaded machine.
    patient = {**aws_env, "PROBE_INTERVAL_S": "60", "PROBE_TIMEOUT_S": "30"}
    env = with_client_cert(patient, make_client_cert(aws_sandbox.pki.ca, key_type=key_type))  # type: ignore[arg-type]
    ra, sm = _run_both(env)

    assert ra.status is Status.UP, ra.error
    assert ra.endpoint == f"127.0.0.1:{aws_sandbox.emulator.port}"
    assert_phases_account_for_latency(ra)
    assert ra.detail["assumed_role_arn"].startswith("arn:aws:sts::123456789012:assumed-role/hybrid-monitor-probe/")
    assert ra.detail["account"] == "123456789012"
    assert ra.detail["cert_subject_cn"] == "hybrid-monitor-workload"
    assert ra.detail["cert_days_left"] in (364, 365)
    assert datetime.fromisoformat(ra.detail["credentials_expire"]) > datetime.now(UTC)

    assert sm.status is Status.UP, sm.error
    assert sm.endpoint == aws_sandbox.moto_url.removeprefix("http://")
    assert_phases_account_for_latency(sm)
    # Our own work (the first run: building the clients, then signing) is reported apart from the latency.
    assert ra.detail[OUR_OVERHEAD] > 0 and sm.detail.pop(OUR_OVERHEAD) > 0
    secret = aws_sandbox.client("secretsmanager").get_secret_value(SecretId=SECRET_NAME)
    assert sm.detail == {
        "secret_arn": secret["ARN"],
        "version_id": secret["VersionId"],
        "version_created": secret["CreatedDate"].isoformat(),
        "value_bytes": len(secret["SecretString"].encode()),
    }


def test_secrets_manager_reuses_credentials(aws_sandbox: AwsSandbox, aws_env: dict[str, str]) -> None:
    settings = settings_module.load({**aws_env, "PROBE_TIMEOUT_S": "4"})  # settings of their own: a fresh cache
    before = aws_sandbox.emulator.sessions_issued
    results = [secrets_manager.probe(settings) for _ in range(3)]
    assert all(r.status in WORKING for r in results), [(r.status, r.error) for r in results]
    assert aws_sandbox.emulator.sessions_issued == before + 1


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("certificate from another CA", "CreateSession denied (403): Untrusted certificate"),
        ("expired certificate", "CreateSession denied (403): Certificate expired"),
        ("role not in the profile", "CreateSession denied (403): Role arn:aws:iam::123456789012:role/admin is not"),
    ],
)
def test_denied_create_session_makes_both_rows_down(
    aws_sandbox: AwsSandbox, aws_env: dict[str, str], case: str, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    if case == "certificate from another CA":
        env = with_client_cert(aws_env, make_client_cert(make_ca("another CA")))
    elif case == "expired certificate":
        expired = make_client_cert(aws_sandbox.pki.ca, days=1, not_before=datetime.now(UTC) - timedelta(days=2))
        env = with_client_cert(aws_env, expired)
    else:
        env = {**aws_env, "IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/admin"}
    ra, sm = _run_both(env)
    assert ra.status is Status.DOWN
    assert ra.error is not None and ra.error.startswith(expected)
    assert sm.status is Status.DOWN
    assert sm.error == f"no AWS credentials: IAM Roles Anywhere failed ({ra.error})"
    # botocore logs the failed refresh; the rows already say why, so no traceback reaches the log.
    refreshes = [r for r in caplog.records if r.name == "botocore.credentials"]
    assert refreshes and not any(r.exc_info or r.exc_text for r in refreshes), refreshes


def test_certificate_near_expiry_is_degraded(aws_sandbox: AwsSandbox, aws_env: dict[str, str]) -> None:
    env = with_client_cert(aws_env, make_client_cert(aws_sandbox.pki.ca, days=10))
    ra = roles_anywhere.probe(settings_module.load({**env, "CERT_WARN_DAYS": "30"}))
    assert ra.status is Status.DEGRADED
    assert ra.detail["cert_days_left"] == 9
    assert ra.error == "client certificate expires in 9 days (CERT_WARN_DAYS=30): renew it"


def test_missing_secret_is_down_with_aws_error(aws_env: dict[str, str]) -> None:
    sm = secrets_manager.probe(settings_module.load({**aws_env, "SECRETS_MANAGER_SECRET_NAME": "no/such/secret"}))
    assert sm.status is Status.DOWN
    assert sm.error is not None and sm.error.startswith("GetSecretValue failed (")
    assert "ResourceNotFoundException: Secrets Manager can't find the specified secret" in sm.error


def test_write_check_puts_a_new_version(aws_sandbox: AwsSandbox, aws_env: dict[str, str]) -> None:
    client = aws_sandbox.client("secretsmanager")
    client.create_secret(Name="hybrid-monitor/write-check", SecretString="{}")
    env = {**aws_env, "SECRETS_MANAGER_SECRET_NAME": "hybrid-monitor/write-check", "SECRETS_MANAGER_WRITE": "1"}
    sm = secrets_manager.probe(settings_module.load(env))
    assert sm.status is Status.UP, sm.error
    assert "put_secret" in sm.phases
    stored = client.get_secret_value(SecretId="hybrid-monitor/write-check")
    assert stored["VersionId"] == sm.detail["written_version_id"]
    assert json.loads(stored["SecretString"])["location"] == "test"


def test_not_configured_names_the_settings() -> None:
    settings = settings_module.load({})
    for probe in (roles_anywhere.probe, secrets_manager.probe):
        result = probe(settings)
        assert result.status is Status.NOT_CONFIGURED
        assert "IAM_CLIENT_CERT" in str(result.error)


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP listener that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_stalled_roles_anywhere_is_down_within_the_deadline(aws_env: dict[str, str], silent_listener: int) -> None:
    env = {**aws_env, "PROBE_TIMEOUT_S": "1", "AWS_ENDPOINT_URL_ROLESANYWHERE": f"https://127.0.0.1:{silent_listener}"}
    ra = roles_anywhere.probe(settings_module.load(env))
    assert ra.status is Status.DOWN
    assert ra.error is not None and "timed out" in ra.error
    assert ra.latency_ms < 3000


def test_no_secret_in_results_or_logs(
    aws_sandbox: AwsSandbox, aws_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "urllib3", "iam_rolesanywhere_session", "sandbox", "jobs"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    secret_value = aws_sandbox.client("secretsmanager").get_secret_value(SecretId=SECRET_NAME)["SecretString"]
    key_pem = base64.b64decode(aws_env["IAM_CLIENT_KEY"])
    denied = {**aws_env, "IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/admin"}
    results = [
        *_run_both(aws_env),
        *_run_both({**aws_env, "PROBE_TIMEOUT_S": "4.5"}),  # new settings: a CreateSession inside the secrets probe
        *_run_both(denied),
    ]
    assert all(r.status in WORKING for r in results[:4]), [(r.status, r.error) for r in results]
    assert [r.status for r in results[4:]] == [Status.DOWN] * 2
    assert "get_secret_value" in caplog.text.lower() or "GetSecretValue" in caplog.text
    texts = [caplog.text, *(json.dumps(r.to_dict()) for r in results)]
    key_lines = [line for line in key_pem.decode().splitlines() if "-----" not in line]
    for text in texts:
        assert secret_value not in text
        assert json.loads(secret_value)["password"] not in text
        assert aws_env["IAM_CLIENT_KEY"] not in text
        assert not any(line in text for line in key_lines)
        assert "Signature=" not in text
        assert "secretAccessKey" not in text and "sessionToken" not in text


def _ca_under(issuer: Pem | None, common_name: str) -> Pem:
    """A CA certificate that may sign CAs: a root (`issuer` None) or an intermediate signed by `issuer`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)])
    signer_cert = x509.load_pem_x509_certificate(issuer.cert) if issuer else None
    signer_key = serialization.load_pem_private_key(issuer.key, None) if issuer else key
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(signer_cert.subject if signer_cert else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False),  # signatures, certs, CRLs
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if signer_cert:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    cert = builder.sign(signer_key, hashes.SHA256())  # type: ignore[arg-type]
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Pem(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def test_the_client_chain_is_sent_to_roles_anywhere(aws_sandbox: AwsSandbox, aws_env: dict[str, str]) -> None:
    """A trust anchor that is a root CA and a client certificate from an intermediate CA: Roles Anywhere can
    only build the chain from the X-Amz-X509-Chain header, so the probe is up only when IAM_CLIENT_CHAIN is sent."""
    root = _ca_under(None, "test root CA")
    intermediate = _ca_under(root, "test intermediate CA")
    sts = aws_sandbox.client("sts")

    def assume_role(role_arn: str, session_name: str, source_identity: str, duration: int) -> dict:
        return sts.assume_role(
            RoleArn=role_arn, RoleSessionName=session_name, SourceIdentity=source_identity, DurationSeconds=duration
        )

    config = Config(
        region=REGION,
        trust_anchors={TRUST_ANCHOR_ARN: root.cert},
        profiles={PROFILE_ARN: Profile(role_arns=(ROLE_ARN,), duration_seconds=3600)},
    )
    pki = aws_sandbox.pki
    emulator = RolesAnywhereEmulator(config, assume_role, pki.server_cert_path, pki.server_key_path).start()
    try:
        env = with_client_cert(
            {**aws_env, "PROBE_TIMEOUT_S": "8", "AWS_ENDPOINT_URL_ROLESANYWHERE": emulator.url},
            make_client_cert(intermediate),
        )
        without_chain = roles_anywhere.probe(settings_module.load(env))
        assert without_chain.status is Status.DOWN
        assert (without_chain.error or "").startswith("CreateSession denied (403): Untrusted certificate")
        with_chain = {**env, "IAM_CLIENT_CHAIN": base64.b64encode(intermediate.cert).decode()}
        ra = roles_anywhere.probe(settings_module.load(with_chain))
        assert ra.status in WORKING, ra.error
        assert emulator.sessions_issued == 1
    finally:
        emulator.stop()


def test_every_probe_of_a_full_cycle_accounts_for_its_latency(
    base_env: dict[str, str], aws_env: dict[str, str]
) -> None:
    """All four probes at once, as the worker runs them: each one's phases are its latency, and the AWS probes'
    own work (signing, building requests, reading answers) is reported apart."""
    settings = settings_module.load({**base_env, **aws_env, "PROBE_INTERVAL_S": "60", "PROBE_TIMEOUT_S": "10"})
    conn = store.connect(settings.postgres, 5)
    store.migrate(conn)
    conn.close()
    for _ in range(2):  # the first cycle builds the clients, the second reuses them
        results = run_probes(settings)
        assert [r.service for r in results] == list(PHASES)
        for result in results:
            assert result.status in WORKING, (result.service, result.error)
            assert_phases_account_for_latency(result)
        # Signing is ours in every cycle, not only the first one that built the clients.
        assert all(r.detail[OUR_OVERHEAD] > 0 for r in results if r.service in ("roles_anywhere", "secrets_manager"))
