"""The cycle's alerting step, once its results are stored: decide incidents from the stored checks. A
failure is logged and never fails the cycle; the next stored cycle decides again from the same checks."""

from __future__ import annotations

import logging

import psycopg2

from jobs import store
from jobs.alerting.decide import decide_incidents
from jobs.result import ProbeResult, one_line
from jobs.settings import Settings

log = logging.getLogger(__name__)


def after_stored(settings: Settings, results: list[ProbeResult]) -> None:
    """Decide the incidents of the services in `results`, a cycle just stored."""
    pg = settings.postgres
    if pg is None or not results:
        return
    try:
        conn = store.connect(pg, settings.probe_timeout_s)
        try:
            decided = decide_incidents(conn, settings.location, results, settings.alerting)
        finally:
            conn.close()
    except psycopg2.Error as exc:
        reason = one_line(store.describe_error(str(exc), pg.endpoint), *settings.secrets())
        log.warning("could not decide incidents: %s", reason)
        return
    if decided.opened or decided.escalated or decided.resolved:
        log.info("incidents: opened %s, escalated %s, resolved %s", decided.opened, decided.escalated, decided.resolved)
