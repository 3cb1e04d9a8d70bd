"""Reading one environment variable: each reader returns the value or raises a one-line `SettingsError` that
names the variable and never shows a secret."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TypeVar
from urllib.parse import SplitResult, urlsplit

from cryptography import x509

_N = TypeVar("_N", int, float)


class SettingsError(ValueError):
    """A setting is missing or malformed. The message is one line and names the variable."""


_USERINFO = re.compile(r"(?<=://)[^/@]*@")


def shown(value: str | None) -> str:
    """A wrong value quoted in a message: any URL password cut out (a URL pasted into the wrong variable must
    not show its password), and long values cut short."""
    if value is None:
        return "None"
    value = _USERINFO.sub("…@", value)
    return repr(value if len(value) <= 60 else value[:60] + "…")


def split(url: str, name: str, expected: str) -> SplitResult:
    """urlsplit, with its ValueError (an unbalanced '[' of an IPv6 host) as the variable's one-line error."""
    try:
        return urlsplit(url)
    except ValueError:
        raise SettingsError(f"{name}: expected {expected}") from None


def text(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value without surrounding blanks; None when it is unset or blank."""
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def whole(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return _in_range(env, name, default, low, high, int, f"a whole number from {low} to {high}")


def seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    return _in_range(env, name, default, low, high, float, f"a number of seconds from {low:g} to {high:g}")


def _in_range(
    env: Mapping[str, str], name: str, default: _N, low: _N, high: _N, convert: Callable[[str], _N], expected: str
) -> _N:
    raw = text(env, name)
    if raw is None:
        return default
    try:
        value = convert(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected {expected}, got {shown(raw)}") from None
    if not low <= value <= high:
        got = f"{value:g}" if isinstance(value, float) else str(value)
        raise SettingsError(f"{name}: expected {expected}, got {got}")
    return value


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = text(env, name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: expected 1/0, true/false, yes/no or on/off, got {shown(raw)}")


def port(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 65535:  # "²".isdigit() too
        raise SettingsError(f"{name}: expected a TCP port from 1 to 65535, got {shown(raw)}")
    return int(raw)


def url_port(parts: SplitResult, name: str, default: int) -> int:
    """The port of a parsed URL, or `default` when it names none."""
    try:
        return parts.port or default
    except ValueError:
        raise SettingsError(f"{name}: the port is not a number from 1 to 65535") from None


def endpoint_url(url: str, name: str, schemes: tuple[str, ...] = ("https", "http")) -> SplitResult:
    """A service endpoint URL (scheme://host[:port]) whose scheme is one of `schemes`."""
    expected = "https://host[:port]"
    parts = split(url, name, expected)
    if parts.scheme not in schemes or not parts.netloc:
        raise SettingsError(f"{name}: expected {expected}")
    return parts


def aws_endpoint_url(url: str, name: str) -> SplitResult:
    """An AWS (or S3-compatible) endpoint: https://, or http:// to this machine only (the local sandbox), so
    signed requests and the credentials and secrets in the answers never cross a network in the clear."""
    parts = endpoint_url(url, name)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        raise SettingsError(f"{name}: https:// is required (http:// only to 127.0.0.1, localhost or ::1)")
    return parts


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ca_certificate(env: Mapping[str, str], name: str) -> str | None:
    """PEM text of one or more CA certificates (as DigitalOcean's bindable `${db.CA_CERT}` gives it); None when
    unset. A certificate is public, so a wrong value is not shown, only described."""
    raw = text(env, name)
    if raw is None:
        return None
    try:
        x509.load_pem_x509_certificates(raw.encode())
    except ValueError:  # also a value that is not UTF-8 (UnicodeEncodeError)
        raise SettingsError(
            f"{name}: expected the PEM text of a CA certificate (-----BEGIN CERTIFICATE-----)"
        ) from None
    return raw + "\n"


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
DURATION_FORMAT = "a duration such as 90s, 15m, 2h or 1d12h"


def duration(raw: str) -> timedelta | None:
    """A duration written as days, hours, minutes and seconds in that order (`2h`, `1h30m`, `90s`), or None
    when `raw` is not one or is zero."""
    match = _DURATION.fullmatch(raw.strip().lower())
    if match is None or not any(match.groups()):
        return None
    days, hours, minutes, secs = (int(g or 0) for g in match.groups())
    span = timedelta(days=days, hours=hours, minutes=minutes, seconds=secs)
    return span if span > timedelta() else None
