"""The schema: the SQL files in `migrations/`, applied in order, each once per database."""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

from jobs.settings import PostgresSettings
from jobs.store.db import MIGRATION_LOCK_KEY, Connection, connect, transaction

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migration_files() -> list[tuple[str, Path]]:
    """(version, path) of every migration, in order. Versions are the 3-digit prefixes of the file names."""
    files = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path.name}: migration files are named NNN_lower_case_name.sql")
        files.append((match.group(1), path))
    return files


def migrate(conn: Connection) -> list[str]:
    """Apply the migrations not yet applied, in one transaction under an advisory lock, so a web and a
    worker starting at once never apply one twice. Returns the names of those applied now."""
    applied_now: list[str] = []
    with transaction(conn) as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cur.fetchall()}
        for version, path in migration_files():
            if version in done:
                continue
            cur.execute(path.read_text())
            cur.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, path.name))
            applied_now.append(path.name)
    return applied_now


class MigrateOnce:
    """Brings each database's schema up to date once per process. The worker's jobs, the CLI and the web all
    go through `migrate_once`, this class's one instance."""

    def __init__(self) -> None:
        self._done: set[tuple[str, int, str]] = set()
        self._failed_at: dict[tuple[str, int, str], float] = {}  # time.monotonic() of the last failure
        self._lock = threading.Lock()  # one thread migrates; the advisory lock orders the processes

    def __call__(self, pg: PostgresSettings, timeout_s: float, *, wait: bool = True, retry_s: float = 0.0) -> list[str]:
        """The names of the migrations applied now to `pg`'s database; none when this process brought it up
        to date before, when another thread is migrating and `wait` is False, or when this database's last
        failure is less than `retry_s` ago (so callers that must not wait again skip it; a failure is remembered
        only by such callers, so the web's start leaves its first request free to try at once). Raises what
        connecting or migrating raised (psycopg2.Error when the database does not answer)."""
        key = (pg.host, pg.port, pg.dbname)
        failed_at = self._failed_at.get(key)
        if key in self._done or (failed_at is not None and time.monotonic() < failed_at + retry_s):
            return []
        if not self._lock.acquire(blocking=wait):
            return []
        try:
            if key in self._done:  # done by the thread this one waited for
                return []
            conn = connect(pg, timeout_s)
            try:
                applied = migrate(conn)
            finally:
                conn.close()
            self._done.add(key)
        except Exception:
            if retry_s > 0:  # a caller that retries at once (the web's start) leaves the next try to the next caller
                self._failed_at[key] = time.monotonic()
            raise
        finally:
            self._lock.release()
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        return applied


migrate_once = MigrateOnce()
