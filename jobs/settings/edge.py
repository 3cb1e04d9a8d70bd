"""The edge: what the web trusts of the proxies in front of it (CloudFront, then App Platform's ingress).
ORIGIN_SECRET, the header value CloudFront adds that every request but the platform's health checks must carry,
and TRUSTED_PROXY_HOPS, how many proxies append to X-Forwarded-For (the viewer's address is that many from the
end; anything before it is what the viewer claimed)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from jobs.settings.parse import SettingsError, text, whole

MIN_ORIGIN_SECRET_CHARS = 32
# Characters a header value carries unchanged through CloudFront (no blanks, no commas, no quotes).
_ORIGIN_SECRET = re.compile(r"[A-Za-z0-9_.~+/=-]+")
MAX_PROXY_HOPS = 5


@dataclass(frozen=True)
class EdgeSettings:
    # None: no origin lock (local use); the web answers whoever reaches it.
    origin_secret: str | None = field(default=None, repr=False)
    trusted_proxy_hops: int = 0


def _origin_secret(env: Mapping[str, str]) -> str | None:
    value = text(env, "ORIGIN_SECRET")
    if value is None:
        return None
    # Never the value: it is a secret, however wrong.
    if len(value) < MIN_ORIGIN_SECRET_CHARS:
        raise SettingsError(
            f"ORIGIN_SECRET: expected at least {MIN_ORIGIN_SECRET_CHARS} random characters, got {len(value)}"
        )
    if not _ORIGIN_SECRET.fullmatch(value):
        raise SettingsError(
            "ORIGIN_SECRET: expected letters, digits and - _ . ~ + / = only (openssl rand -hex 32), "
            "as it travels in a header"
        )
    return value


def read(env: Mapping[str, str]) -> EdgeSettings:
    """The edge settings. Raises SettingsError (one line, never the secret) for a wrong one."""
    origin_secret = _origin_secret(env)
    hops = whole(env, "TRUSTED_PROXY_HOPS", 0, 0, MAX_PROXY_HOPS)
    if hops and origin_secret is None:
        # Without the lock a client can reach the app past the proxies and write the entries believed.
        raise SettingsError("TRUSTED_PROXY_HOPS: needs ORIGIN_SECRET (the proxies' lock); expected 0 without it")
    return EdgeSettings(origin_secret=origin_secret, trusted_proxy_hops=hops)
