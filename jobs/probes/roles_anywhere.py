"""IAM Roles Anywhere: a fresh CreateSession with the X.509 certificate, then STS GetCallerIdentity with the
credentials it returned. `degraded` when the certificate expires within CERT_WARN_DAYS: a certificate that
silently expires is the likeliest way this integration dies."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from jobs.aws_session import NOT_CONFIGURED_HINT, client_config, describe_error, roles_anywhere_session
from jobs.probes.outcome import not_configured, result_of_check
from jobs.result import ProbeResult, Status, Timer, utcnow
from jobs.settings import Settings

SERVICE = "roles_anywhere"


def certificate_facts(certificate_pem: bytes, now: datetime) -> dict[str, Any]:
    """Subject CN, serial, expiry and whole days left of the client certificate (all public facts)."""
    cert = x509.load_pem_x509_certificate(certificate_pem)
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return {
        "cert_subject_cn": str(names[0].value) if names else "",
        "cert_serial": format(cert.serial_number, "x"),
        "cert_not_after": cert.not_valid_after_utc.isoformat(),
        "cert_days_left": (cert.not_valid_after_utc - now) // timedelta(days=1),
    }


def probe(settings: Settings) -> ProbeResult:
    aws = settings.aws
    if aws is None:
        return not_configured(SERVICE, settings, NOT_CONFIGURED_HINT)
    timer = Timer()
    detail: dict[str, Any] = {}
    error = None
    action = "CreateSession"
    try:
        detail.update(certificate_facts(aws.certificate_pem, utcnow()))
        # A new session every run: getting credentials is exactly what is being checked.
        session = roles_anywhere_session(aws, settings.probe_timeout_s).get_session()
        credentials = session.get_credentials()
        with timer.phase("create_session"):
            credentials.get_frozen_credentials()
        # botocore keeps the expiry of refreshable credentials only in this attribute.
        expiry = getattr(credentials, "_expiry_time", None)
        detail["credentials_expire"] = expiry.isoformat() if expiry else None
        action = "GetCallerIdentity"
        # Same session, so the same (already fetched) credentials: no second CreateSession.
        sts = session.client("sts", endpoint_url=aws.sts_endpoint_url, config=client_config(settings.probe_timeout_s))
        with timer.phase("get_caller_identity"):
            identity = sts.get_caller_identity()
        detail["assumed_role_arn"] = identity["Arn"]
        detail["account"] = identity["Account"]
    except Exception as exc:  # a probe never raises: any failure is this row's error
        error = describe_error(exc, action, settings.probe_timeout_s)

    result = result_of_check(SERVICE, settings, aws.endpoint, timer, detail, error)
    days_left = detail.get("cert_days_left")
    if result.status is not Status.DOWN and days_left is not None and days_left < aws.cert_warn_days:
        warning = f"client certificate expires in {days_left} days (CERT_WARN_DAYS={aws.cert_warn_days}): renew it"
        return replace(result, status=Status.DEGRADED, error=warning)
    return result
