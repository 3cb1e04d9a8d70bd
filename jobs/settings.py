"""Every environment variable the product reads, validated in one place.

General settings that are wrong stop the process with a one-line `SettingsError`. A service whose own
settings are absent or wrong is left unconfigured (`None`) and the reason kept in `Settings.problems`, so the
web still starts and shows that row as "not configured" with the reason. No message ever holds a secret.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, quote, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization


class SettingsError(ValueError):
    """A setting is missing or malformed. The message is one line and names the variable."""


SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_ARN = {
    "IAM_TRUST_ANCHOR_ARN": re.compile(r"^arn:aws[a-z-]*:rolesanywhere:[a-z0-9-]+:\d{12}:trust-anchor/[\w-]+$"),
    "IAM_PROFILE_ARN": re.compile(r"^arn:aws[a-z-]*:rolesanywhere:[a-z0-9-]+:\d{12}:profile/[\w-]+$"),
    "IAM_ROLE_ARN": re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"),
}


# gunicorn threads per web process, and so the web's PostgreSQL connections per process (dashapp/reader.py).
# Few threads queue on Python's GIL less under load: with 3, /api/status at 20 clients kept its p99 at 19-20 ms
# (1,420-1,520 req/s) and the page's and history's tails shrank too; with 8, 1,650-1,850 req/s, p99 22-31 ms.
# A read that waits out its bound makes the next ones fail at once (dashapp/reader.py), so a frozen database
# does not hold them all.
WEB_THREADS = 3


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

    def connect_kwargs(self, timeout_s: float) -> dict[str, object]:
        """psycopg2.connect() arguments, with every wait bounded by `timeout_s`."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
            "sslmode": self.sslmode,
            "connect_timeout": max(1, round(timeout_s)),
            # A peer that vanishes mid-query must not hold us longer than the timeout.
            "keepalives": 1,
            "keepalives_idle": max(1, round(timeout_s)),
            "keepalives_interval": 1,
            "keepalives_count": 3,
            "tcp_user_timeout": int(timeout_s * 1000),
            # Three quarters of the bound: a slow query is cancelled by the server, an error that arrives,
            # before the client gives up on a server that sends nothing (jobs/pg_wait.py).
            "options": f"-c statement_timeout={int(timeout_s * 750)}",
            "application_name": "hybrid-monitor",
        }


@dataclass(frozen=True)
class ValkeySettings:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    db: int = 0

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, timeout_s: float | None = None) -> str:
        """A redis:// or rediss:// URL (holds the password: never log it)."""
        auth = ""
        if self.password:
            auth = f"{quote(self.username or '', safe='')}:{quote(self.password, safe='')}@"
        elif self.username:
            auth = f"{quote(self.username, safe='')}@"
        scheme = "rediss" if self.tls else "redis"
        url = f"{scheme}://{auth}{self.host}:{self.port}/{self.db}"
        if timeout_s is not None:
            url += f"?socket_connect_timeout={timeout_s}&socket_timeout={timeout_s}&socket_keepalive=true"
        return url


@dataclass(frozen=True)
class AwsSettings:
    region: str
    trust_anchor_arn: str
    profile_arn: str
    role_arn: str
    secret_name: str
    certificate_pem: bytes
    chain_pem: bytes | None
    # The private key lives only in memory, never on disk, never in a repr.
    private_key_pem: bytes = field(repr=False)
    rolesanywhere_endpoint: str | None = None
    # botocore's own per-service endpoint settings, read here so every setting has one reader.
    sts_endpoint_url: str | None = None
    secretsmanager_endpoint_url: str | None = None
    ca_bundle: str | None = None
    cert_warn_days: int = 30
    write_check: bool = False

    @property
    def endpoint(self) -> str:
        return self.rolesanywhere_endpoint or f"rolesanywhere.{self.region}.amazonaws.com"

    @property
    def secretsmanager_endpoint(self) -> str:
        if self.secretsmanager_endpoint_url:
            return urlsplit(self.secretsmanager_endpoint_url).netloc
        return f"secretsmanager.{self.region}.amazonaws.com"


@dataclass(frozen=True)
class Settings:
    postgres: PostgresSettings | None
    valkey: ValkeySettings | None
    aws: AwsSettings | None
    # Why a service is unconfigured, keyed by service id; one line each, no secrets.
    problems: dict[str, str]
    probe_interval_s: int = 60
    probe_timeout_s: float = 10.0
    dash_refresh_s: int = 30
    location: str = "local"
    environment: str = ""
    port: int = 8050
    bind_host: str = "0.0.0.0"  # noqa: S104 - a container's web process listens on every interface
    web_concurrency: int = 1
    rq_dashboard_username: str | None = None
    rq_dashboard_password: str | None = field(default=None, repr=False)
    assets_base_url: str | None = None
    raw_retention_days: int = 14
    rollup_retention_days: int = 400
    log_level: str = "INFO"

    def secrets(self) -> tuple[str, ...]:
        """Every password the settings hold, for scrubbing messages (`jobs.result.one_line`)."""
        values = (
            self.postgres.password if self.postgres else None,
            self.valkey.password if self.valkey else None,
            self.rq_dashboard_password,
        )
        return tuple(v for v in values if v)

    def endpoint_of(self, service: str) -> str:
        """The host:port a service's probe talks to, from the settings alone ("" when unconfigured)."""
        pg, vk, aws = self.postgres, self.valkey, self.aws
        endpoints = {
            "postgres": pg.endpoint if pg else "",
            "valkey": vk.endpoint if vk else "",
            "roles_anywhere": aws.endpoint if aws else "",
            "secrets_manager": aws.secretsmanager_endpoint if aws else "",
        }
        return endpoints.get(service, "")

    @property
    def sandbox(self) -> bool:
        return self.environment == "local sandbox"


_USERINFO = re.compile(r"(?<=://)[^/@]*@")


def _shown(value: str | None) -> str:
    """A wrong value quoted in a message: any URL password cut out (a URL pasted into the wrong variable must
    not show its password), and long values cut short."""
    if value is None:
        return "None"
    value = _USERINFO.sub("…@", value)
    return repr(value if len(value) <= 60 else value[:60] + "…")


def _split(url: str, name: str, expected: str) -> SplitResult:
    """urlsplit, with its ValueError (an unbalanced '[' of an IPv6 host) as the variable's one-line error."""
    try:
        return urlsplit(url)
    except ValueError:
        raise SettingsError(f"{name}: expected {expected}") from None


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number from {low} to {high}, got {_shown(raw)}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}: expected a whole number from {low} to {high}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(
            f"{name}: expected a number of seconds from {low:g} to {high:g}, got {_shown(raw)}"
        ) from None
    if not low <= value <= high:
        raise SettingsError(f"{name}: expected a number of seconds from {low:g} to {high:g}, got {value:g}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _get(env, name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: expected 1/0, true/false, yes/no or on/off, got {_shown(raw)}")


def _port(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 65535:  # "²".isdigit() too
        raise SettingsError(f"{name}: expected a TCP port from 1 to 65535, got {_shown(raw)}")
    return int(raw)


def _bind_host(env: Mapping[str, str]) -> str:
    host = _get(env, "BIND_HOST") or "0.0.0.0"  # noqa: S104 - see Settings.bind_host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise SettingsError(
            f"BIND_HOST: expected an IP address such as 0.0.0.0 or 127.0.0.1, got {_shown(host)}"
        ) from None
    return host


def _postgres(env: Mapping[str, str]) -> PostgresSettings | None:
    url = _get(env, "DATABASE_URL")
    sslmode, sslmode_from = _get(env, "PGSSLMODE"), "PGSSLMODE: expected"
    if url:
        expected = "postgresql://user:password@host:port/dbname"
        parts = _split(url, "DATABASE_URL", expected)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise SettingsError(f"DATABASE_URL: expected {expected}")
        try:
            port = parts.port or 5432
        except ValueError:
            raise SettingsError("DATABASE_URL: the port is not a number from 1 to 65535") from None
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        if query.get("sslmode"):
            sslmode_from = "DATABASE_URL: expected sslmode"
        settings = PostgresSettings(
            host=parts.hostname,
            port=port,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password else None,
            dbname=unquote(parts.path.lstrip("/")) or "postgres",
            sslmode=query.get("sslmode") or sslmode or "prefer",
        )
    elif _get(env, "PGHOST"):
        settings = PostgresSettings(
            host=_get(env, "PGHOST") or "",
            port=_port(_get(env, "PGPORT"), "PGPORT", 5432),
            user=_get(env, "PGUSER") or "postgres",
            password=env.get("PGPASSWORD") or None,
            dbname=_get(env, "PGDATABASE") or "postgres",
            sslmode=sslmode or "prefer",
        )
    else:
        return None
    if settings.sslmode not in SSL_MODES:
        raise SettingsError(f"{sslmode_from} one of {', '.join(SSL_MODES)}, got {_shown(settings.sslmode)}")
    return settings


def _valkey(env: Mapping[str, str]) -> ValkeySettings | None:
    url = _get(env, "VALKEY_URL")
    if url:
        expected = "rediss://[user:password@]host:port (redis:// for no TLS)"
        parts = _split(url, "VALKEY_URL", expected)
        if parts.scheme not in ("redis", "rediss", "valkey", "valkeys") or not parts.hostname:
            raise SettingsError(f"VALKEY_URL: expected {expected}")
        try:
            port = parts.port or 6379
        except ValueError:
            raise SettingsError("VALKEY_URL: the port is not a number from 1 to 65535") from None
        db = parts.path.lstrip("/") or "0"
        if not (db.isascii() and db.isdigit()):
            raise SettingsError(f"VALKEY_URL: the database number must be a whole number, got {_shown(db)}")
        return ValkeySettings(
            host=parts.hostname,
            port=port,
            tls=parts.scheme in ("rediss", "valkeys"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            db=int(db),
        )
    host = _get(env, "VALKEY_HOST")
    if not host:
        return None
    return ValkeySettings(
        host=host,
        port=_port(_get(env, "VALKEY_PORT"), "VALKEY_PORT", 6379),
        # Managed Valkey only speaks TLS, so the host/port form defaults to it.
        tls=_bool(env, "VALKEY_TLS", True),
        username=_get(env, "VALKEY_USERNAME"),
        password=env.get("VALKEY_PASSWORD") or None,
    )


def _pem(env: Mapping[str, str], name: str) -> bytes:
    """A PEM given as base64 of the PEM (the documented form) or as the PEM itself."""
    raw = _get(env, name) or ""
    if raw.startswith("-----BEGIN"):
        return raw.encode("utf-8", "surrogatepass")  # os.environ keeps undecodable bytes as surrogates
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError(f"{name}: expected the base64 of a PEM file (base64 -w0 file.pem)") from None
    if b"-----BEGIN" not in data:
        raise SettingsError(f"{name}: the base64 decodes to something that is not a PEM file")
    return data


def _aws(env: Mapping[str, str]) -> AwsSettings | None:
    required = (
        "IAM_TRUST_ANCHOR_ARN",
        "IAM_PROFILE_ARN",
        "IAM_ROLE_ARN",
        "IAM_CLIENT_CERT",
        "IAM_CLIENT_KEY",
        "SECRETS_MANAGER_SECRET_NAME",
    )
    given = [name for name in required if _get(env, name)]
    if not given:
        return None
    missing = [name for name in required if name not in given]
    if missing:
        raise SettingsError(f"{missing[0]}: missing (the AWS probes need all of {', '.join(required)})")
    region = _get(env, "AWS_REGION") or _get(env, "AWS_DEFAULT_REGION")
    if not region or not _REGION.match(region):
        raise SettingsError(f"AWS_REGION: expected an AWS region such as us-east-1, got {_shown(region)}")
    for name, pattern in _ARN.items():
        if not pattern.match(_get(env, name) or ""):
            raise SettingsError(f"{name}: not a valid ARN of that kind (expected {pattern.pattern})")

    cert_pem = _pem(env, "IAM_CLIENT_CERT")
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise SettingsError("IAM_CLIENT_CERT: not a readable X.509 certificate in PEM form") from None
    chain_pem = _pem(env, "IAM_CLIENT_CHAIN") if _get(env, "IAM_CLIENT_CHAIN") else None
    if chain_pem is not None:
        try:
            x509.load_pem_x509_certificates(chain_pem)
        except ValueError:
            raise SettingsError("IAM_CLIENT_CHAIN: not readable X.509 certificates in PEM form") from None
    key_pem = _pem(env, "IAM_CLIENT_KEY")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise SettingsError("IAM_CLIENT_KEY: not a readable unencrypted RSA or EC private key in PEM form") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != certificate.public_key().public_bytes(
        serialization.Encoding.DER, public
    ):
        raise SettingsError("IAM_CLIENT_KEY: this key does not belong to the IAM_CLIENT_CERT certificate")

    endpoint = _get(env, "AWS_ENDPOINT_URL_ROLESANYWHERE")
    if endpoint:
        parts = _split(endpoint, "AWS_ENDPOINT_URL_ROLESANYWHERE", "https://host[:port]")
        if parts.scheme != "https" or not parts.netloc:
            raise SettingsError("AWS_ENDPOINT_URL_ROLESANYWHERE: expected https://host[:port]")
        endpoint = parts.netloc
    service_urls = {}
    for name in ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        url = _get(env, name)
        parts = _split(url or "", name, "https://host[:port]")
        if url and (parts.scheme not in ("https", "http") or not parts.netloc):
            raise SettingsError(f"{name}: expected https://host[:port]")
        service_urls[name] = url
    ca_bundle = _get(env, "AWS_CA_BUNDLE")
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise SettingsError(f"AWS_CA_BUNDLE: no such file {_shown(ca_bundle)}")
    return AwsSettings(
        region=region,
        trust_anchor_arn=_get(env, "IAM_TRUST_ANCHOR_ARN") or "",
        profile_arn=_get(env, "IAM_PROFILE_ARN") or "",
        role_arn=_get(env, "IAM_ROLE_ARN") or "",
        secret_name=_get(env, "SECRETS_MANAGER_SECRET_NAME") or "",
        certificate_pem=cert_pem,
        chain_pem=chain_pem,
        private_key_pem=key_pem,
        rolesanywhere_endpoint=endpoint,
        sts_endpoint_url=service_urls["AWS_ENDPOINT_URL_STS"],
        secretsmanager_endpoint_url=service_urls["AWS_ENDPOINT_URL_SECRETS_MANAGER"],
        ca_bundle=ca_bundle,
        cert_warn_days=_int(env, "CERT_WARN_DAYS", 30, 0, 365),
        write_check=_bool(env, "SECRETS_MANAGER_WRITE", False),
    )


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting. Raises SettingsError (one line) for a wrong general setting."""
    env = os.environ if env is None else env
    problems: dict[str, str] = {}

    def service(ids: tuple[str, ...], read):  # type: ignore[no-untyped-def]
        try:
            return read(env)
        except SettingsError as exc:
            for service_id in ids:
                problems[service_id] = str(exc)
            return None

    interval = _int(env, "PROBE_INTERVAL_S", 60, 1, 3600)
    timeout = _float(env, "PROBE_TIMEOUT_S", 10.0, 0.1, 300)
    if timeout >= interval:
        raise SettingsError(f"PROBE_TIMEOUT_S: must be shorter than PROBE_INTERVAL_S ({interval} s), got {timeout:g}")
    log_level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got {_shown(log_level)}")
    location = _get(env, "PROBE_LOCATION") or "local"
    if not re.fullmatch(r"[\w.-]{1,64}", location):
        raise SettingsError("PROBE_LOCATION: expected 1-64 letters, digits, '.', '_' or '-'")
    username, password = _get(env, "RQ_DASHBOARD_USERNAME"), _get(env, "RQ_DASHBOARD_PASSWORD")
    if bool(username) != bool(password):
        raise SettingsError(
            "RQ_DASHBOARD_PASSWORD: set both RQ_DASHBOARD_USERNAME and RQ_DASHBOARD_PASSWORD, or neither"
        )
    assets = _get(env, "ASSETS_BASE_URL")
    if assets and _split(assets, "ASSETS_BASE_URL", "an https:// URL").scheme not in ("https", "http"):
        raise SettingsError("ASSETS_BASE_URL: expected an https:// URL")
    raw_days = _int(env, "RAW_RETENTION_DAYS", 14, 1, 3650)

    return Settings(
        postgres=service(("postgres",), _postgres),
        valkey=service(("valkey",), _valkey),
        aws=service(("roles_anywhere", "secrets_manager"), _aws),
        problems=problems,
        probe_interval_s=interval,
        probe_timeout_s=timeout,
        dash_refresh_s=_int(env, "DASH_REFRESH_S", 30, 1, 3600),
        location=location,
        environment=_get(env, "APP_ENVIRONMENT") or "",
        port=_port(_get(env, "PORT"), "PORT", 8050),
        bind_host=_bind_host(env),
        web_concurrency=_int(env, "WEB_CONCURRENCY", 1, 1, 64),
        rq_dashboard_username=username,
        rq_dashboard_password=password,
        assets_base_url=assets.rstrip("/") + "/" if assets else None,
        raw_retention_days=raw_days,
        # Rollups are kept at least as long as the raw results they summarise.
        rollup_retention_days=_int(env, "ROLLUP_RETENTION_DAYS", max(400, raw_days), raw_days, 3650),
        log_level=log_level,
    )


@dataclass(frozen=True)
class SpacesSettings:
    """Where `python -m dashapp publish-assets` uploads assets/: a DigitalOcean Spaces bucket (S3 API).

    The keys are Spaces access keys (DigitalOcean), not AWS keys; only the publishing shell needs them.
    """

    bucket: str
    region: str
    endpoint_url: str
    access_key_id: str
    secret_access_key: str = field(repr=False)


def load_spaces(env: Mapping[str, str] | None = None) -> SpacesSettings:
    """Read the Spaces settings; raises SettingsError (one line, naming the variable) when one is missing or wrong."""
    env = os.environ if env is None else env
    values = {}
    for name in ("SPACES_BUCKET", "SPACES_REGION", "SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY"):
        values[name] = _get(env, name)
        if values[name] is None:
            raise SettingsError(f"{name}: missing (publish-assets needs SPACES_BUCKET, SPACES_REGION and Spaces keys)")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", values["SPACES_BUCKET"] or ""):
        raise SettingsError("SPACES_BUCKET: expected 3-63 lowercase letters, digits, '.' or '-'")
    region = values["SPACES_REGION"] or ""
    if not re.fullmatch(r"[a-z]{3}\d", region):
        raise SettingsError(f"SPACES_REGION: expected a DigitalOcean region such as fra1, got {_shown(region)}")
    endpoint = _get(env, "AWS_ENDPOINT_URL_S3") or f"https://{region}.digitaloceanspaces.com"
    parts = _split(endpoint, "AWS_ENDPOINT_URL_S3", "https://host[:port]")
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise SettingsError("AWS_ENDPOINT_URL_S3: expected https://host[:port]")
    return SpacesSettings(
        bucket=values["SPACES_BUCKET"] or "",
        region=region,
        endpoint_url=endpoint,
        access_key_id=values["SPACES_ACCESS_KEY_ID"] or "",
        secret_access_key=values["SPACES_SECRET_ACCESS_KEY"] or "",
    )
