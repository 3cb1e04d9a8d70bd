"""PostgreSQL's settings: DATABASE_URL, or the libpq-style PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE;
PGSSLMODE for either."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from jobs.settings.parse import SettingsError, port, shown, split, text, url_port

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    dbname: str
    sslmode: str
    password: str | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


def read(env: Mapping[str, str]) -> PostgresSettings | None:
    """PostgreSQL's settings; None when neither DATABASE_URL nor PGHOST is set."""
    url = text(env, "DATABASE_URL")
    sslmode, sslmode_from = text(env, "PGSSLMODE"), "PGSSLMODE"
    if url:
        expected = "postgresql://user:password@host:port/dbname"
        parts = split(url, "DATABASE_URL", expected)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise SettingsError(f"DATABASE_URL: expected {expected}")
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        if query.get("sslmode"):
            sslmode_from = "DATABASE_URL"
        settings = PostgresSettings(
            host=parts.hostname,
            port=url_port(parts, "DATABASE_URL", 5432),
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password else None,
            dbname=unquote(parts.path.lstrip("/")) or "postgres",
            sslmode=query.get("sslmode") or sslmode or "prefer",
        )
    elif text(env, "PGHOST"):
        settings = PostgresSettings(
            host=text(env, "PGHOST") or "",
            port=port(text(env, "PGPORT"), "PGPORT", 5432),
            user=text(env, "PGUSER") or "postgres",
            password=env.get("PGPASSWORD") or None,
            dbname=text(env, "PGDATABASE") or "postgres",
            sslmode=sslmode or "prefer",
        )
    else:
        return None
    if settings.sslmode not in SSL_MODES:
        what = "expected sslmode" if sslmode_from == "DATABASE_URL" else "expected"
        raise SettingsError(f"{sslmode_from}: {what} one of {', '.join(SSL_MODES)}, got {shown(settings.sslmode)}")
    return settings
