"""All the settings of a process (`Settings`, read by `load`) and the general ones: the probing cadence, the
web's address and processes, the RQ dashboard's login, the public status page, assets, retention and logging."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from jobs import defaults
from jobs.settings import access, alerting, aws, edge, postgres, valkey
from jobs.settings.access import AccessSettings
from jobs.settings.alerting import AlertSettings
from jobs.settings.aws import AwsSettings
from jobs.settings.edge import EdgeSettings
from jobs.settings.parse import SettingsError, flag, port, seconds, shown, split, text, whole
from jobs.settings.postgres import PostgresSettings
from jobs.settings.valkey import ValkeySettings

_S = TypeVar("_S")
# /rq's own basic-auth password (AUTH_MODE=none): long enough that the failed-login limit makes guessing it hopeless.
MIN_RQ_PASSWORD_CHARS = 16
_LOCATION = re.compile(r"[\w.-]{1,64}")


@dataclass(frozen=True)
class Settings:
    postgres: PostgresSettings | None
    valkey: ValkeySettings | None
    aws: AwsSettings | None
    # Why a service is unconfigured, keyed by service id; one line each, no secrets.
    problems: dict[str, str]
    probe_interval_s: int = defaults.PROBE_INTERVAL_S
    probe_timeout_s: float = defaults.PROBE_TIMEOUT_S
    dash_refresh_s: int = defaults.DASH_REFRESH_S
    location: str = "local"
    # Every location that probes (PROBE_LOCATIONS): the scheduler enqueues a cycle for each, the web shows each.
    locations: tuple[str, ...] = ("local",)
    environment: str = ""
    port: int = 8050
    bind_host: str = "0.0.0.0"  # noqa: S104 - a container's web process listens on every interface
    web_concurrency: int = defaults.WEB_CONCURRENCY
    rq_dashboard_username: str | None = None
    rq_dashboard_password: str | None = field(default=None, repr=False)
    status_page: bool = False  # the public /status page; off unless an operator turns it on
    assets_base_url: str | None = None
    raw_retention_days: int = defaults.RAW_RETENTION_DAYS
    rollup_retention_days: int = defaults.ROLLUP_RETENTION_DAYS
    log_level: str = "INFO"
    alerting: AlertSettings = field(default_factory=AlertSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    edge: EdgeSettings = field(default_factory=EdgeSettings)

    def secrets(self) -> tuple[str, ...]:
        """Every password, alert URL, session secret and token the settings hold, for scrubbing messages
        (`jobs.result.one_line`)."""
        values = (
            self.postgres.password if self.postgres else None,
            self.valkey.password if self.valkey else None,
            self.rq_dashboard_password,
            *self.alerting.urls,
            *self.access.secrets(),
            self.alerting.heartbeat_url,
            self.edge.origin_secret,
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


def _bind_host(env: Mapping[str, str]) -> str:
    host = text(env, "BIND_HOST") or "0.0.0.0"  # noqa: S104 - see Settings.bind_host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise SettingsError(
            f"BIND_HOST: expected an IP address such as 0.0.0.0 or 127.0.0.1, got {shown(host)}"
        ) from None
    return host


def _location(value: str, name: str) -> str:
    if not _LOCATION.fullmatch(value):
        raise SettingsError(f"{name}: expected 1-64 letters, digits, '.', '_' or '-', got {shown(value)}")
    return value


def _locations(env: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """(PROBE_LOCATION, PROBE_LOCATIONS): where this process probes from (default: the first of the list, else
    `local`), and every location that probes (default: this one alone), which must include this one."""
    listed = tuple(
        _location(w, "PROBE_LOCATIONS") for w in re.split(r"[\s,]+", text(env, "PROBE_LOCATIONS") or "") if w
    )
    if len(set(listed)) != len(listed):
        raise SettingsError(f"PROBE_LOCATIONS: a location is listed twice in {shown(text(env, 'PROBE_LOCATIONS'))}")
    given = text(env, "PROBE_LOCATION")
    location = _location(given, "PROBE_LOCATION") if given else (listed[0] if listed else "local")
    if listed and location not in listed:
        raise SettingsError(f"PROBE_LOCATION: {shown(location)} is not one of PROBE_LOCATIONS ({', '.join(listed)})")
    return location, listed or (location,)


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting. Raises SettingsError (one line) for a wrong general setting."""
    env = os.environ if env is None else env
    problems: dict[str, str] = {}

    def service(ids: tuple[str, ...], read: Callable[[Mapping[str, str]], _S | None]) -> _S | None:
        try:
            return read(env)
        except SettingsError as exc:
            for service_id in ids:
                problems[service_id] = str(exc)
            return None

    interval = whole(env, "PROBE_INTERVAL_S", defaults.PROBE_INTERVAL_S, 1, 3600)
    timeout = seconds(env, "PROBE_TIMEOUT_S", defaults.PROBE_TIMEOUT_S, 0.1, 300)
    if timeout >= interval:
        raise SettingsError(f"PROBE_TIMEOUT_S: must be shorter than PROBE_INTERVAL_S ({interval} s), got {timeout:g}")
    log_level = (text(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got {shown(log_level)}")
    location, locations = _locations(env)
    username, password = text(env, "RQ_DASHBOARD_USERNAME"), text(env, "RQ_DASHBOARD_PASSWORD")
    if bool(username) != bool(password):
        raise SettingsError(
            "RQ_DASHBOARD_PASSWORD: set both RQ_DASHBOARD_USERNAME and RQ_DASHBOARD_PASSWORD, or neither"
        )
    if password is not None and len(password) < MIN_RQ_PASSWORD_CHARS:
        # Never the value: it is a secret, however short.
        raise SettingsError(
            f"RQ_DASHBOARD_PASSWORD: expected at least {MIN_RQ_PASSWORD_CHARS} characters, got {len(password)}"
        )
    assets = text(env, "ASSETS_BASE_URL")
    if assets and split(assets, "ASSETS_BASE_URL", "an https:// URL").scheme not in ("https", "http"):
        raise SettingsError("ASSETS_BASE_URL: expected an https:// URL")
    raw_days = whole(env, "RAW_RETENTION_DAYS", defaults.RAW_RETENTION_DAYS, 1, 3650)

    return Settings(
        postgres=service(("postgres",), postgres.read),
        valkey=service(("valkey",), valkey.read),
        aws=service(("roles_anywhere", "secrets_manager"), aws.read),
        problems=problems,
        probe_interval_s=interval,
        probe_timeout_s=timeout,
        dash_refresh_s=whole(env, "DASH_REFRESH_S", defaults.DASH_REFRESH_S, 1, 3600),
        location=location,
        locations=locations,
        environment=text(env, "APP_ENVIRONMENT") or "",
        port=port(text(env, "PORT"), "PORT", 8050),
        bind_host=_bind_host(env),
        web_concurrency=whole(env, "WEB_CONCURRENCY", defaults.WEB_CONCURRENCY, 1, 64),
        rq_dashboard_username=username,
        rq_dashboard_password=password,
        status_page=flag(env, "STATUS_PAGE", False),
        assets_base_url=assets.rstrip("/") + "/" if assets else None,
        raw_retention_days=raw_days,
        # Rollups are kept at least as long as the raw results they summarise.
        rollup_retention_days=whole(
            env, "ROLLUP_RETENTION_DAYS", max(defaults.ROLLUP_RETENTION_DAYS, raw_days), raw_days, 3650
        ),
        log_level=log_level,
        alerting=alerting.read(env, len(locations)),
        access=access.read(env),
        edge=edge.read(env),
    )
