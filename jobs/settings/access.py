"""Access: who may see the operator's pages. AUTH_MODE (none, basic or oidc), the signed session cookie
(SESSION_SECRET, SESSION_MAX_AGE_S), the one basic-auth operator, the OpenID Connect provider and who it
may let in, and the bearer tokens of scripts (API_TOKEN) and Prometheus (METRICS_TOKEN)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address

from jobs import defaults
from jobs.settings.parse import SettingsError, endpoint_url, shown, text, whole

MODES = ("none", "basic", "oidc")
# werkzeug.security's hash formats (`python -m dashapp hash-password` writes scrypt).
PASSWORD_HASHES = ("scrypt:", "pbkdf2:")
MIN_SECRET_CHARS = 32
MIN_TOKEN_CHARS = 20


@dataclass(frozen=True)
class AccessSettings:
    mode: str = "none"
    # Signs the session cookie; None only in mode none (the web then makes a random one per process).
    session_secret: str | None = field(default=None, repr=False)
    session_max_age_s: int = defaults.SESSION_MAX_AGE_S
    basic_username: str | None = None
    basic_password_hash: str | None = field(default=None, repr=False)
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)
    oidc_groups_claim: str = "groups"
    # Lower-cased; an identity enters when its e-mail is allowed (if either list is set) and it is in an
    # allowed group (if that list is set).
    allowed_emails: frozenset[str] = frozenset()
    allowed_domains: frozenset[str] = frozenset()
    allowed_groups: frozenset[str] = frozenset()
    api_token: str | None = field(default=None, repr=False)
    metrics_token: str | None = field(default=None, repr=False)
    # The address operators use (CloudFront's), when the app sees another Host (App Platform's): the OIDC
    # redirect URI and the origin a form must come from.
    public_url: str | None = None

    @property
    def signs_in(self) -> bool:
        """True when operators must sign in (basic or oidc)."""
        return self.mode != "none"

    def secrets(self) -> tuple[str, ...]:
        values = (self.session_secret, self.basic_password_hash, self.oidc_client_secret)
        return tuple(v for v in (*values, self.api_token, self.metrics_token) if v)


def _words(env: Mapping[str, str], name: str) -> frozenset[str]:
    """A list separated by commas or blanks, lower-cased (e-mail addresses and domains compare so)."""
    return frozenset(w.lower() for w in re.split(r"[\s,]+", text(env, name) or "") if w)


def _required(env: Mapping[str, str], name: str, mode: str) -> str:
    value = text(env, name)
    if value is None:
        raise SettingsError(f"{name}: required when AUTH_MODE={mode}")
    return value


def _long_enough(env: Mapping[str, str], name: str, chars: int, required_in: str | None = None) -> str | None:
    value = _required(env, name, required_in) if required_in else text(env, name)
    if value is not None and len(value) < chars:
        # Never the value: it is a secret, however short.
        raise SettingsError(f"{name}: expected at least {chars} random characters, got {len(value)}")
    return value


def _issuer(env: Mapping[str, str]) -> str:
    """The provider's issuer URL: https, or http only to this machine (a local provider in tests)."""
    raw = _required(env, "OIDC_ISSUER", "oidc")
    parts = endpoint_url(raw, "OIDC_ISSUER", ("https", "http"))
    host = parts.hostname or ""
    if parts.scheme == "http" and host != "localhost" and not _loopback(host):
        raise SettingsError(f"OIDC_ISSUER: expected an https:// URL (http only for localhost), got {shown(raw)}")
    return raw.rstrip("/")


def _public_url(env: Mapping[str, str]) -> str | None:
    """PUBLIC_URL: scheme and host (and port) only, such as https://status.example.com."""
    raw = text(env, "PUBLIC_URL")
    if raw is None:
        return None
    parts = endpoint_url(raw, "PUBLIC_URL", ("https", "http"))
    if parts.path.strip("/") or parts.query:
        raise SettingsError(
            f"PUBLIC_URL: expected a scheme and host only, such as https://status.example.com, got {shown(raw)}"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _allowed(env: Mapping[str, str]) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    emails, domains = _words(env, "AUTH_ALLOWED_EMAILS"), _words(env, "AUTH_ALLOWED_DOMAINS")
    for email in emails:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise SettingsError(f"AUTH_ALLOWED_EMAILS: expected e-mail addresses, got {shown(email)}")
    for domain in domains:
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
            raise SettingsError(f"AUTH_ALLOWED_DOMAINS: expected domains such as example.com, got {shown(domain)}")
    # Group names keep their case (Entra ID sends ids, Keycloak names).
    groups = frozenset(w for w in re.split(r"[\s,]+", text(env, "AUTH_ALLOWED_GROUPS") or "") if w)
    return emails, domains, groups


def read(env: Mapping[str, str]) -> AccessSettings:
    """The access settings. Raises SettingsError (one line, never a secret) for a wrong or missing one."""
    mode = (text(env, "AUTH_MODE") or "none").lower()
    if mode not in MODES:
        raise SettingsError(f"AUTH_MODE: expected none, basic or oidc, got {shown(mode)}")
    signs_in = mode != "none"
    common = {
        "mode": mode,
        "session_secret": _long_enough(env, "SESSION_SECRET", MIN_SECRET_CHARS, mode if signs_in else None),
        "session_max_age_s": whole(env, "SESSION_MAX_AGE_S", defaults.SESSION_MAX_AGE_S, 60, 30 * 86400),
        "api_token": _long_enough(env, "API_TOKEN", MIN_TOKEN_CHARS),
        "metrics_token": _long_enough(env, "METRICS_TOKEN", MIN_TOKEN_CHARS),
        "public_url": _public_url(env),
    }
    if mode == "basic":
        password_hash = _required(env, "AUTH_BASIC_PASSWORD_HASH", mode)
        if not password_hash.startswith(PASSWORD_HASHES):
            raise SettingsError(
                "AUTH_BASIC_PASSWORD_HASH: expected a scrypt: or pbkdf2: hash (python -m dashapp hash-password)"
            )
        return AccessSettings(
            **common, basic_username=_required(env, "AUTH_BASIC_USERNAME", mode), basic_password_hash=password_hash
        )
    if mode == "oidc":
        emails, domains, groups = _allowed(env)
        if not (emails or domains or groups):
            raise SettingsError(
                "AUTH_ALLOWED_EMAILS: with AUTH_MODE=oidc set AUTH_ALLOWED_EMAILS, AUTH_ALLOWED_DOMAINS "
                "or AUTH_ALLOWED_GROUPS (who may enter)"
            )
        return AccessSettings(
            **common,
            oidc_issuer=_issuer(env),
            oidc_client_id=_required(env, "OIDC_CLIENT_ID", mode),
            oidc_client_secret=_required(env, "OIDC_CLIENT_SECRET", mode),
            oidc_groups_claim=text(env, "OIDC_GROUPS_CLAIM") or "groups",
            allowed_emails=emails,
            allowed_domains=domains,
            allowed_groups=groups,
        )
    return AccessSettings(**common)
