"""The outside dead-man's switch: after every stored cycle, one GET to ALERT_HEARTBEAT_URL (healthchecks.io,
Uptime Kuma's push monitor, …), which raises its own alert when the pings stop, so a monitor that is down
entirely (web included) is still noticed. One try with a short bound; a failure is one log line naming only
the URL's scheme and host (its path and query are usually the secret) and never fails the cycle."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from jobs.defaults import HEARTBEAT_TIMEOUT_S
from jobs.result import one_line
from jobs.settings import Settings

log = logging.getLogger(__name__)


def shown(url: str) -> str:
    """scheme://host[:port] of the URL, with any path or query cut: safe to log."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]  # any user and password cut
    return f"{parts.scheme}://{host}" + ("/…" if parts.path.strip("/") or parts.query else "")


def ping(settings: Settings) -> bool:
    """Request ALERT_HEARTBEAT_URL once, bounded by the smaller of HEARTBEAT_TIMEOUT_S and PROBE_TIMEOUT_S.
    True when it answered 2xx or 3xx; False (logged) otherwise, or when no URL is set."""
    url = settings.alerting.heartbeat_url
    if url is None:
        return False
    timeout_s = min(HEARTBEAT_TIMEOUT_S, settings.probe_timeout_s)
    request = urllib.request.Request(url, headers={"User-Agent": "hybrid-monitor heartbeat"})  # noqa: S310 - http(s) only, checked in the settings
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - as above
            response.read(1024)
        return True
    except urllib.error.HTTPError as exc:
        reason = f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
        reason = one_line(getattr(exc, "reason", exc), url, *settings.secrets())
    log.warning("heartbeat to %s failed: %s", shown(url), reason)
    return False
