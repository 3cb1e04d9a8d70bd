"""PostgreSQL's settings: DATABASE_URL, or the libpq-style PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE;
PGSSLMODE for either; the CA that signs the server's certificate as PEM text (DATABASE_CA_CERT) or a file
(libpq's PGSSLROOTCERT). DATABASE_WEB_ROLE: the web's own PostgreSQL role, which whoever migrates grants
exactly what the web needs (jobs/store/schema.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from jobs.settings.parse import SettingsError, ca_certificate, port, shown, split, text, url_port

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    dbname: str
    sslmode: str
    password: str | None = field(default=None, repr=False)
    ca_cert: str | None = field(default=None, repr=False)  # PEM text
    ca_file: str | None = None  # a path, or libpq's "system"
    host_from: str = field(default="DATABASE_URL", compare=False)  # the variable an error about the host names
    web_role: str | None = None  # granted the web's rights on every migration (DATABASE_WEB_ROLE)

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ca_setting(self) -> str:
        """The variable an error about the server's certificate names."""
        return "PGSSLROOTCERT" if self.ca_file else "DATABASE_CA_CERT"


def sslmode(given: str | None, ca_given: bool) -> str:
    """The sslmode used: a CA given means the server is verified, so no mode (or `require`, which
    DigitalOcean's bound DATABASE_URL carries) becomes verify-full; any other mode given is kept."""
    if ca_given and given in (None, "require"):
        return "verify-full"
    return given or "prefer"


def read(env: Mapping[str, str]) -> PostgresSettings | None:
    """PostgreSQL's settings; None when neither DATABASE_URL nor PGHOST is set."""
    url = text(env, "DATABASE_URL")
    given, given_from = text(env, "PGSSLMODE"), "PGSSLMODE"
    if url:
        expected = "postgresql://user:password@host:port/dbname"
        parts = split(url, "DATABASE_URL", expected)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise SettingsError(f"DATABASE_URL: expected {expected}")
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        if query.get("sslmode"):
            given, given_from = query["sslmode"], "DATABASE_URL"
        host, host_from = parts.hostname, "DATABASE_URL"
        pg_port = url_port(parts, "DATABASE_URL", 5432)
        user = unquote(parts.username or "postgres")
        password = unquote(parts.password) if parts.password else None
        dbname = unquote(parts.path.lstrip("/")) or "postgres"
    elif text(env, "PGHOST"):
        host, host_from = text(env, "PGHOST") or "", "PGHOST"
        pg_port = port(text(env, "PGPORT"), "PGPORT", 5432)
        user = text(env, "PGUSER") or "postgres"
        password = env.get("PGPASSWORD") or None
        dbname = text(env, "PGDATABASE") or "postgres"
    else:
        return None
    if given is not None and given not in SSL_MODES:
        what = "expected sslmode" if given_from == "DATABASE_URL" else "expected"
        raise SettingsError(f"{given_from}: {what} one of {', '.join(SSL_MODES)}, got {shown(given)}")
    ca_cert, ca_file = ca_certificate(env, "DATABASE_CA_CERT"), text(env, "PGSSLROOTCERT")
    if ca_cert and ca_file:
        raise SettingsError("DATABASE_CA_CERT: set it or PGSSLROOTCERT, not both")
    web_role = text(env, "DATABASE_WEB_ROLE")
    if web_role is not None and not _ROLE.fullmatch(web_role):
        raise SettingsError(
            f"DATABASE_WEB_ROLE: expected a role name of lowercase letters, digits and _, got {shown(web_role)}"
        )
    return PostgresSettings(
        host=host,
        port=pg_port,
        user=user,
        dbname=dbname,
        sslmode=sslmode(given, bool(ca_cert or ca_file)),
        password=password,
        ca_cert=ca_cert,
        ca_file=ca_file,
        host_from=host_from,
        web_role=web_role,
    )
