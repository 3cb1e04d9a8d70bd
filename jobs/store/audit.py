"""The audit log: one row per operator action (who, what, when), written by the web."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jobs.store.db import Connection


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    detail: str


def add_audit_entry(conn: Connection, at: datetime, actor: str, action: str, detail: str = "") -> int:
    """Store one entry; its id."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO audit_log (at, actor, action, detail) VALUES (%s, %s, %s, %s) RETURNING id",
            (at, actor, action, detail),
        )
        return int(cur.fetchone()[0])


def audit_entries(conn: Connection, limit: int, action: str | None = None) -> list[AuditEntry]:
    """The newest entries (of one action, or all), newest first, at most `limit`."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, at, actor, action, detail FROM audit_log WHERE (%s::text IS NULL OR action = %s)"
            " ORDER BY at DESC, id DESC LIMIT %s",
            (action, action, limit),
        )
        return [AuditEntry(*row) for row in cur.fetchall()]
