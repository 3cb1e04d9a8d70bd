"""The schema: the SQL files in `migrations/`, applied in order, each once per database, and the web's own
role (DATABASE_WEB_ROLE) granted what the web needs each time the worker migrates."""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

from psycopg2 import sql

from jobs.settings import PostgresSettings
from jobs.store.db import MIGRATION_LOCK_KEY, Connection, Cursor, connect, transaction

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


# What the web writes besides reading every table: its audit log of operator actions, and the monitor's own
# incident, which its watch on the worker opens and resolves (jobs.alerting.self_watch).
WEB_WRITES = {"audit_log": "INSERT", "incidents": "INSERT, UPDATE"}


def migrate(conn: Connection, web_role: str | None = None) -> list[str]:
    """Apply the migrations not yet applied, in one transaction under an advisory lock, so a web and a
    worker starting at once never apply one twice, then grant `web_role` the web's rights. Returns the names of
    the migrations applied now. On an up-to-date schema the web's role, which may not create tables, finds
    nothing to do (PostgreSQL skips CREATE TABLE IF NOT EXISTS before checking the right to create)."""
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
        if web_role is not None:
            grant_web(cur, web_role)
    return applied_now


def grant_web(cur: Cursor, role: str) -> None:
    """Let `role` read every table of the schema and write only WEB_WRITES (idempotent: run on every
    migration, so a table a new migration adds is granted too). A role that does not exist is logged."""
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    if cur.fetchone() is None:
        log.warning("DATABASE_WEB_ROLE: no role %s in this PostgreSQL; the web's rights were not granted", role)
        return
    grantee = sql.Identifier(role)
    cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(grantee))
    cur.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(grantee))
    for table, rights in WEB_WRITES.items():
        cur.execute(sql.SQL("GRANT " + rights + " ON {} TO {}").format(sql.Identifier(table), grantee))


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
                applied = migrate(conn, pg.web_role)
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
