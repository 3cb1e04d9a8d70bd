"""The monitor watches itself, from the web process: a daemon thread checks once per probe interval when the
newest cycle was stored. After MONITOR_SILENT_INTERVALS intervals without one (the worker, the scheduler or
Valkey is dead) it opens the `monitor` incident and tells every ALERT_URLS channel directly with Apprise,
needing neither the queue nor a worker; once cycles are stored again it resolves it and says so.

Of several web processes (or threads, or deployments of the web) one tells each change: opening and
resolving are the incidents table's conditional statements, and the message is sent before they commit, so
the others wait on that row and then find the change made. When no channel takes the message the change is
rolled back, and the next check tries again.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import psycopg2

from jobs import store
from jobs.defaults import MONITOR_SILENT_INTERVALS
from jobs.result import one_line, utcnow
from jobs.settings import Settings

log = logging.getLogger(__name__)

SERVICE = "monitor"  # the monitor's own incidents, beside the services'


class NotTold(Exception):
    """No channel took the message: the change it tells of is rolled back, to be tried again."""


def silent_since(
    last_cycle_at: datetime | None, watching_since: datetime, interval_s: int, now: datetime
) -> datetime | None:
    """When the monitor went silent (the next cycle after the newest stored one was due), once no cycle was
    stored for MONITOR_SILENT_INTERVALS intervals; None while it reports. With no cycle stored at all the
    watch's own start stands for the last one."""
    last = last_cycle_at or watching_since
    if now - last < timedelta(seconds=MONITOR_SILENT_INTERVALS * interval_s):
        return None
    return last + timedelta(seconds=interval_s)


def _tell(settings: Settings, opened: bool, incident: store.Incident) -> None:
    """Tell every ALERT_URLS channel that the monitor's incident opened (or resolved). Raises NotTold when
    there are channels and none took it."""
    if not settings.alerting.configured:
        return
    # Apprise is imported only when there is something to tell: the web does not carry it otherwise.
    from jobs.alerting import channels as channels_
    from jobs.alerting import messages

    title, body, notify_type = (messages.not_reporting if opened else messages.reporting_again)(incident)

    channels, problems = channels_.load(settings.alerting)
    for problem in problems:
        log.error("%s", problem)
    failed = 0
    for channel in channels:
        error = channels_.send(channel, title, body, notify_type, [messages.dedup_key(incident)])
        if error is not None:
            failed += 1
            log.warning("monitor alert to %s failed: %s", channel.masked, error)
    if channels and failed == len(channels):
        raise NotTold("no channel took the monitor's alert; tried again at the next check")


def watch_once(conn: store.Connection, settings: Settings, watching_since: datetime, now: datetime) -> str | None:
    """One check: open the monitor's incident and tell it (`opened`), or resolve it and tell it
    (`resolved`), or nothing (None: no change, or another watcher made it). Raises psycopg2.Error or NotTold;
    then nothing changed."""
    last = store.last_cycle_at(conn)
    silent = silent_since(last, watching_since, settings.probe_interval_s, now)
    with store.transaction(conn) as cur:
        current = store.open_incidents(cur, settings.location).get(SERVICE)
        if silent is not None and current is None:
            error = f"no probe cycle stored since {(last or watching_since).strftime('%Y-%m-%d %H:%M:%S UTC')}"
            opened = store.open_incident(cur, SERVICE, settings.location, "critical", silent, error, None)
            if opened is None:
                return None
            store.set_worst_status(cur, opened, "down")
            _tell(settings, True, store.incidents(conn, [opened])[0])
            return "opened"
        if silent is None and current is not None and last is not None:
            if not store.resolve_incident(cur, current.id, max(last, current.started_at)):
                return None
            _tell(settings, False, store.incidents(conn, [current.id])[0])
            return "resolved"
    return None


class SelfWatch:
    """The watching thread: one PostgreSQL connection per check, opened and closed, and nothing else held."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="monitor-self-watch", daemon=True)
        self._last_problem: str | None = None

    def start(self) -> SelfWatch:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        watching_since = utcnow()
        while not self._stop.wait(self.settings.probe_interval_s):
            self.check(watching_since)

    def check(self, watching_since: datetime) -> str | None:
        """One check; a failure is logged (once until it changes) and waits for the next check."""
        pg = self.settings.postgres
        if pg is None:
            return None
        try:
            conn = store.connect(pg, self.settings.probe_timeout_s)
            try:
                changed = watch_once(conn, self.settings, watching_since, utcnow())
            finally:
                conn.close()
        except (psycopg2.Error, NotTold) as exc:
            text = str(exc) if isinstance(exc, NotTold) else store.describe_error(str(exc), pg)
            problem = one_line(text, *self.settings.secrets())
            if problem != self._last_problem:
                log.warning("monitor self-watch: %s", problem)
            self._last_problem = problem
            return None
        self._last_problem = None
        if changed:
            log.warning("monitor self-watch: the monitor's incident %s", changed)
        return changed


def start(settings: Settings) -> SelfWatch | None:
    """Start watching in this process (the web's), when there is a PostgreSQL to watch."""
    return SelfWatch(settings).start() if settings.postgres is not None else None
