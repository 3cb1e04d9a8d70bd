"""Certificate expiry warnings: recording each (certificate, threshold) once with a conditional insert, so of
any number of workers exactly one tells it, and reading a warning back for its message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg2.extensions import cursor as Cursor

from jobs.store.db import Connection


@dataclass(frozen=True)
class CertificateWarning:
    id: int
    fingerprint: str  # SHA-256 of the certificate (DER), hex
    threshold_days: int
    service: str
    subject: str
    not_after: datetime
    days_left: int
    warned_at: datetime


def record_warnings(
    cur: Cursor,
    fingerprint: str,
    thresholds: Sequence[int],
    service: str,
    subject: str,
    not_after: datetime,
    days_left: int,
    now: datetime,
) -> int | None:
    """Record every threshold in `thresholds` not yet recorded for this certificate; the id of the smallest
    this call recorded (the one to tell of), or None when another call recorded them all before."""
    if not thresholds:
        return None
    cur.execute(
        "INSERT INTO certificate_warnings (fingerprint, threshold_days, service, subject, not_after, days_left,"
        " warned_at) SELECT %s, t, %s, %s, %s, %s, %s FROM unnest(%s::integer[]) AS t"
        " ON CONFLICT ON CONSTRAINT certificate_warnings_once DO NOTHING RETURNING id, threshold_days",
        (fingerprint, service, subject, not_after, days_left, now, list(thresholds)),
    )
    recorded = cur.fetchall()
    return min(recorded, key=lambda row: row[1])[0] if recorded else None


def certificate_warning(conn: Connection, warning_id: int) -> CertificateWarning:
    """The warning with this id."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, fingerprint, threshold_days, service, subject, not_after, days_left, warned_at"
            " FROM certificate_warnings WHERE id = %s",
            (warning_id,),
        )
        id_, fingerprint, threshold, service, subject, not_after, days_left, warned_at = cur.fetchone()
    return CertificateWarning(
        id_, fingerprint, threshold, service, subject, not_after.astimezone(UTC), days_left, warned_at.astimezone(UTC)
    )
