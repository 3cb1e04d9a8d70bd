"""Valkey's settings: VALKEY_URL, or VALKEY_HOST, VALKEY_PORT, VALKEY_USERNAME, VALKEY_PASSWORD, VALKEY_TLS;
the CA that signs the server's certificate as PEM text (VALKEY_CA_CERT)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import quote, unquote

from jobs.settings.parse import SettingsError, ca_certificate, flag, port, shown, split, text, url_port


@dataclass(frozen=True)
class ValkeySettings:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    db: int = 0
    ca_cert: str | None = field(default=None, repr=False)  # PEM text; None: the system's CAs
    host_from: str = field(default="VALKEY_URL", compare=False)  # the variable an error about the host names

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self) -> str:
        """A redis:// or rediss:// URL (holds the password: never log it). `jobs.buffer.bounded_url` adds the
        waits' bounds."""
        auth = ""
        if self.password:
            auth = f"{quote(self.username or '', safe='')}:{quote(self.password, safe='')}@"
        elif self.username:
            auth = f"{quote(self.username, safe='')}@"
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{auth}{self.host}:{self.port}/{self.db}"


def read(env: Mapping[str, str]) -> ValkeySettings | None:
    """Valkey's settings; None when neither VALKEY_URL nor VALKEY_HOST is set."""
    settings = _read_server(env)
    ca_cert = ca_certificate(env, "VALKEY_CA_CERT")
    if settings is None or ca_cert is None:
        return settings
    if not settings.tls:
        plain = "VALKEY_TLS is off" if settings.host_from == "VALKEY_HOST" else "VALKEY_URL is redis://"
        raise SettingsError(f"VALKEY_CA_CERT: set, but {plain}: Valkey is reached without TLS")
    return replace(settings, ca_cert=ca_cert)


def _read_server(env: Mapping[str, str]) -> ValkeySettings | None:
    url = text(env, "VALKEY_URL")
    if url:
        expected = "rediss://[user:password@]host:port (redis:// for no TLS)"
        parts = split(url, "VALKEY_URL", expected)
        if parts.scheme not in ("redis", "rediss", "valkey", "valkeys") or not parts.hostname:
            raise SettingsError(f"VALKEY_URL: expected {expected}")
        valkey_port = url_port(parts, "VALKEY_URL", 6379)
        db = parts.path.lstrip("/") or "0"
        if not (db.isascii() and db.isdigit()):
            raise SettingsError(f"VALKEY_URL: the database number must be a whole number, got {shown(db)}")
        return ValkeySettings(
            host=parts.hostname,
            port=valkey_port,
            tls=parts.scheme in ("rediss", "valkeys"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            db=int(db),
        )
    host = text(env, "VALKEY_HOST")
    if not host:
        return None
    return ValkeySettings(
        host=host,
        port=port(text(env, "VALKEY_PORT"), "VALKEY_PORT", 6379),
        # Managed Valkey only speaks TLS, so the host/port form defaults to it.
        tls=flag(env, "VALKEY_TLS", True),
        username=text(env, "VALKEY_USERNAME"),
        password=env.get("VALKEY_PASSWORD") or None,
        host_from="VALKEY_HOST",
    )
