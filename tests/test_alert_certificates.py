"""Certificate expiry told ahead of time, with real parts: certificates issued by the sandbox's PKI, their
facts as the Roles Anywhere probe reports them, warnings recorded in a real PostgreSQL and sent through the
outbox by Apprise to a local HTTP receiver."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from jobs import store
from jobs.alerting import channels as channels_
from jobs.alerting.after_cycle import after_stored
from jobs.alerting.certificates import reached, warn_expiring
from jobs.alerting.sender import send_due
from jobs.cycle import probe_and_store
from jobs.probes.roles_anywhere import certificate_facts
from jobs.result import ProbeResult, Status
from jobs.settings import SettingsError, load
from sandbox.aws import AwsSandbox
from sandbox.pki import Pem, make_ca, make_client_cert
from tests import test_alert_delivery
from tests.aws.test_aws_probes import with_client_cert
from tests.test_alert_delivery import Receiver

receiver = test_alert_delivery.receiver  # the fixture: a local HTTP receiver of Apprise's json:// posts

WARN_AT = (30, 14, 7, 1)
CA = make_ca()


def roles_anywhere(cert: Pem, now: datetime) -> ProbeResult:
    """The probe's result for `cert` as seen at `now` (its detail as the probe fills it)."""
    return ProbeResult(
        service="roles_anywhere",
        status=Status.UP,
        latency_ms=5.0,
        endpoint="127.0.0.1:1",
        checked_at=now,
        location="test",
        detail=certificate_facts(cert.cert, now),
    )


def warn(conn, cert: Pem, now: datetime, urls: list[str]) -> list[int]:
    """One stored cycle's certificate step, then the sender, as the worker does."""
    channels, _ = channels_.parse(tuple(urls))
    queued = warn_expiring(conn, [roles_anywhere(cert, now)], WARN_AT, [(c.key, c.masked) for c in channels])
    send_due(conn, channels)
    return queued


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(45, []), (31, []), (30, [30]), (20, [30]), (14, [30, 14]), (8, [30, 14]), (7, [30, 14, 7]), (0, [30, 14, 7, 1])],
)
def test_the_thresholds_reached(days_left: int, expected: list[int]) -> None:
    assert reached(days_left, WARN_AT) == expected


def test_each_threshold_is_told_once_per_certificate_and_again_only_for_a_new_one(conn, receiver: Receiver) -> None:
    now = datetime.now(UTC)
    old = make_client_cert(CA, days=20.5)
    titles = lambda: [m["title"] for m in receiver.received]  # noqa: E731
    for hours in range(0, 48, 6):  # a cycle every six hours for two days: 20 days left, then 19
        warn(conn, old, now + timedelta(hours=hours), [receiver.url])
    assert titles() == ["CERTIFICATE: the AWS IAM Roles Anywhere client certificate expires in 20 days"]
    [message] = receiver.received
    fingerprint = certificate_facts(old.cert, now)["cert_sha256"]
    assert message["type"] == "warning"
    assert f"SHA-256 {fingerprint}" in message["message"] and "the 30-day warning" in message["message"]

    for days in (6, 7, 8, 13, 14, 19, 20):  # 14, 13 … 0 days left: the 14-, 7- and 1-day warnings, once each
        warn(conn, old, now + timedelta(days=days), [receiver.url])
    assert titles()[1:] == [
        "CERTIFICATE: the AWS IAM Roles Anywhere client certificate expires in 14 days",
        "CERTIFICATE: the AWS IAM Roles Anywhere client certificate expires in 7 days",
        "CERTIFICATE: the AWS IAM Roles Anywhere client certificate expires in 1 day",
    ]

    new = make_client_cert(CA, days=10.5)  # rotated: 10 days left, so past 30 and 14 already
    for hours in (0, 6, 12):
        warn(conn, new, now + timedelta(hours=hours), [receiver.url])
    warn(conn, old, now + timedelta(days=20), [receiver.url])  # a worker still on the old one tells nothing new
    assert titles()[4:] == ["CERTIFICATE: the AWS IAM Roles Anywhere client certificate expires in 10 days"]
    assert "the 14-day warning" in receiver.received[4]["message"]


def test_two_workers_at_once_tell_a_warning_once(db_url: str, conn, receiver: Receiver) -> None:
    cert, now = make_client_cert(CA, days=5.5), datetime.now(UTC)
    [channel], _ = channels_.parse((receiver.url,))
    pg = load({"DATABASE_URL": db_url}).postgres
    connections = [store.connect(pg, 10) for _ in range(4)]
    start, queued = threading.Barrier(len(connections)), []

    def worker(c: store.Connection) -> None:
        start.wait()
        queued.extend(warn_expiring(c, [roles_anywhere(cert, now)], WARN_AT, [(channel.key, channel.masked)]))

    threads = [threading.Thread(target=worker, args=(c,)) for c in connections]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for c in connections:
        c.close()
    assert len(queued) == 1
    send_due(conn, [channel])
    assert [m["title"] for m in receiver.received] == [
        "CERTIFICATE: the AWS IAM Roles Anywhere client certificate expires in 5 days"
    ]


def test_the_cycle_step_queues_the_warning_for_the_sender(db_url: str, conn, receiver: Receiver) -> None:
    settings = load({"DATABASE_URL": db_url, "PROBE_LOCATION": "test", "ALERT_URLS": receiver.url})
    result = roles_anywhere(make_client_cert(CA, days=3.5), datetime.now(UTC))
    store.write_results(conn, [result], result.checked_at)
    after_stored(settings, [result], conn, None)
    assert receiver.received == [], "the cycle itself sends nothing"
    channels, _ = channels_.parse(settings.alerting.urls)
    assert send_due(conn, channels).sent == 1
    assert receiver.received[0]["title"].endswith("expires in 3 days")


def test_the_probe_s_certificate_is_told_once_from_real_cycles(
    db_url: str, conn, receiver: Receiver, aws_sandbox: AwsSandbox
) -> None:
    """The Roles Anywhere probe against the AWS sandbox with a certificate 6 days from expiry, two cycles."""
    cert = make_client_cert(aws_sandbox.pki.ca, days=6.5)
    env = {**aws_sandbox.env, "DATABASE_URL": db_url, "PROBE_LOCATION": "test", "ALERT_URLS": receiver.url}
    settings = load(with_client_cert({**env, "PROBE_INTERVAL_S": "10", "PROBE_TIMEOUT_S": "5"}, cert))
    slot = datetime.now(UTC).replace(microsecond=0)
    for n in range(2):
        results, not_stored = probe_and_store(settings, slot + timedelta(seconds=10 * n))
        assert not_stored is None
        send_due(conn, channels_.parse(settings.alerting.urls)[0])
    [message] = receiver.received
    assert message["title"] == "CERTIFICATE: the AWS IAM Roles Anywhere client certificate expires in 6 days"
    fingerprint = next(r for r in results if r.service == "roles_anywhere").detail["cert_sha256"]
    assert fingerprint == certificate_facts(cert.cert, datetime.now(UTC))["cert_sha256"]
    assert f"SHA-256 {fingerprint}" in message["message"] and "the 7-day warning" in message["message"]


@pytest.mark.parametrize(("value", "expected"), [("7, 30,1", (30, 7, 1)), ("none", ()), ("0", (0,)), (" 14 ", (14,))])
def test_cert_warn_at_days(value: str, expected: tuple[int, ...]) -> None:
    assert load({"CERT_WARN_AT_DAYS": value}).alerting.cert_warn_at_days == expected
    assert load({}).alerting.cert_warn_at_days == WARN_AT


@pytest.mark.parametrize("value", ["30,x", "400", "-1", "30,,7", "1.5"])
def test_a_wrong_cert_warn_at_days_is_one_line(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^CERT_WARN_AT_DAYS: expected whole days from 0 to 365"):
        load({"CERT_WARN_AT_DAYS": value})
