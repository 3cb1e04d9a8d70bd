"""Certificate expiry told ahead of time: after each stored cycle, a certificate a probe reported (the Roles
Anywhere client certificate's facts in its detail) that has reached a CERT_WARN_AT_DAYS threshold is recorded
once per certificate (SHA-256 fingerprint) and threshold, with one delivery per channel in the same
transaction; the sender tells of it like an incident. A renewed certificate has a new fingerprint, so its
own thresholds are told again; the old one's never are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from jobs import store
from jobs.result import ProbeResult, utcnow


@dataclass(frozen=True)
class Expiry:
    """A certificate's expiry as a probe reported it."""

    service: str
    fingerprint: str
    subject: str
    not_after: datetime
    days_left: int


def expiries(results: Sequence[ProbeResult]) -> list[Expiry]:
    """The certificates the results report (those whose detail has a fingerprint and an expiry)."""
    found = []
    for r in results:
        d = r.detail
        if d.get("cert_sha256") and d.get("cert_not_after") and d.get("cert_days_left") is not None:
            not_after = datetime.fromisoformat(d["cert_not_after"])
            subject = d.get("cert_subject_cn", "")
            found.append(Expiry(r.service, d["cert_sha256"], subject, not_after, d["cert_days_left"]))
    return found


def reached(days_left: int, warn_at: Sequence[int]) -> list[int]:
    """The thresholds (days left) a certificate with `days_left` whole days left has reached, largest first:
    one 9 days from expiry has reached 30 and 14, not 7."""
    return sorted((t for t in warn_at if days_left <= t), reverse=True)


def warn_expiring(
    conn: store.Connection,
    results: Sequence[ProbeResult],
    warn_at: Sequence[int],
    channels: Sequence[tuple[str, str]],
) -> list[int]:
    """Record the thresholds the results' certificates reached and, for each certificate with one newly
    recorded, queue one delivery per channel ((key, masked URL)) telling of the smallest. A certificate first
    seen past several thresholds is told once (of the nearest), and the larger ones are never told later.
    The ids of the warnings this call queued. Raises psycopg2.Error; then nothing changed."""
    queued = []
    with store.transaction(conn) as cur:
        for e in expiries(results):
            now = utcnow()
            warning = store.record_warnings(
                cur, e.fingerprint, reached(e.days_left, warn_at), e.service, e.subject, e.not_after, e.days_left, now
            )
            if warning is not None:
                store.add_certificate(cur, warning, channels, now)
                queued.append(warning)
    return queued
