"""IAM Roles Anywhere: a fresh CreateSession with the X.509 certificate, then STS GetCallerIdentity with the
credentials it returned. `degraded` when the certificate expires within CERT_WARN_DAYS: a certificate that
silently expires is the likeliest way this integration dies.

The latency is the two requests' time on the wire; signing them and building the clients is our own work,
reported apart (`prepare` does the costly part once per process, before any timer runs)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from jobs.aws_session import (
    NOT_CONFIGURED_HINT,
    client_for_given_credentials,
    describe_error,
    roles_anywhere_session,
    round_trip,
    signing_with,
)
from jobs.probes.outcome import not_configured, result_of_check
from jobs.result import ProbeResult, Status, Timer, utcnow
from jobs.settings import Settings

SERVICE = "roles_anywhere"

_certificate = lru_cache(maxsize=4)(x509.load_pem_x509_certificate)


def certificate_facts(certificate_pem: bytes, now: datetime) -> dict[str, Any]:
    """Subject CN, serial, SHA-256 fingerprint, expiry and whole days left of the client certificate (all public
    facts; the fingerprint tells one certificate from its renewal)."""
    cert = _certificate(certificate_pem)
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return {
        "cert_subject_cn": str(names[0].value) if names else "",
        "cert_serial": format(cert.serial_number, "x"),
        "cert_sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "cert_not_after": cert.not_valid_after_utc.isoformat(),
        "cert_days_left": (cert.not_valid_after_utc - now) // timedelta(days=1),
    }


def prepare(settings: Settings) -> None:
    """Parse the certificate and key and build the STS client now, once per settings and process."""
    if settings.aws is not None:
        _certificate(settings.aws.certificate_pem)
        roles_anywhere_session(settings.aws, settings.probe_timeout_s)
        client_for_given_credentials("sts", settings.aws, settings.aws.sts_endpoint_url, settings.probe_timeout_s)


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
        prepare(settings)
        # New credentials every run (a CreateSession, signed by the library): getting them is what is checked.
        credentials = roles_anywhere_session(aws, settings.probe_timeout_s).get_refreshable_credentials()
        with round_trip(timer.phases, "create_session"):
            frozen = credentials.get_frozen_credentials()
        # botocore keeps the expiry of refreshable credentials only in this attribute.
        expiry = getattr(credentials, "_expiry_time", None)
        detail["credentials_expire"] = expiry.isoformat() if expiry else None
        action = "GetCallerIdentity"
        sts = client_for_given_credentials("sts", aws, aws.sts_endpoint_url, settings.probe_timeout_s)
        with signing_with(frozen), round_trip(timer.phases, "get_caller_identity"):
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
