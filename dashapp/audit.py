"""An audit line per operator action (sign-in, sign-out, a refused sign-in, silences, test notifications):
who, what, when, in the log and in PostgreSQL's audit_log."""

from __future__ import annotations

import logging

import flask

from dashapp.reader import Reader, Unavailable
from jobs.result import utcnow

log = logging.getLogger(__name__)
READER = "hybrid_monitor_reader"  # the app's Reader, in server.extensions


def record(action: str, actor: str, detail: str = "") -> None:
    """Log the action and store it. A store that is down loses the row (said in the log), never the action:
    a sign-in must not depend on PostgreSQL. `detail` is one line and holds no secret."""
    at = utcnow()
    log.info("audit: %s by %s%s", action, actor, f": {detail}" if detail else "")
    reader: Reader = flask.current_app.extensions[READER]
    try:
        reader.add_audit_entry(at, actor, action, detail)
    except Unavailable as exc:
        log.warning("audit entry not stored (%s by %s): %s", action, actor, exc)
