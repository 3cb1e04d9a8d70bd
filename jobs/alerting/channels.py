"""Notification channels: the ALERT_URLS entries as Apprise sends to them, each known by a hash of its URL and
shown only masked. Apprise's own log lines may quote a URL's tokens, so they are kept out of our logs: its
errors come back through `send`, masked."""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import apprise

from jobs.result import one_line

_apprise_log = logging.getLogger("apprise")
_apprise_log.propagate = False
_apprise_log.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Channel:
    key: str  # a hash of the URL: which ALERT_URLS entry, without the URL
    masked: str
    url: str = field(repr=False)

    def secret_parts(self) -> tuple[str, ...]:
        """The pieces of the URL that may be secret (user, password, path segments, query values), for
        scrubbing Apprise's messages."""
        parts = urlsplit(self.url)
        pieces = [parts.username, parts.password, *parts.path.split("/"), *(v for _, v in parse_qsl(parts.query))]
        # Short pieces ("v1", a port) would scrub ordinary words; a token is longer.
        return (self.url, *(p for p in pieces if p and len(p) >= 4))


def _masked(privacy_url: str) -> str:
    """scheme://host[:port] of Apprise's privacy form (which masks passwords and tokens in the host part),
    with any path cut: a webhook's path is often its token."""
    parts = urlsplit(privacy_url)
    return f"{parts.scheme}://{parts.netloc}" + ("/…" if parts.path.strip("/") else "")


@functools.lru_cache(maxsize=8)
def parse(urls: tuple[str, ...]) -> tuple[tuple[Channel, ...], tuple[str, ...]]:
    """The channels Apprise can send to, and a one-line problem for each entry it cannot (naming its position
    and scheme only), so one wrong URL does not silence the others. Kept per process: every cycle asks."""
    channels, problems = [], []
    for number, url in enumerate(urls, 1):
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            scheme = urlsplit(url).scheme if "://" in url else ""
            shown = f"{scheme}://…" if scheme else "no scheme://"
            problems.append(f"ALERT_URLS: entry {number} ({shown}) is not a URL Apprise can send to")
            continue
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        channels.append(Channel(key, _masked(plugin.url(privacy=True)), url))
    return tuple(channels), tuple(problems)


def send(channel: Channel, title: str, body: str, notify_type: str) -> str | None:
    """Send one message; None when the channel took it, else why not (one line, secrets masked)."""
    sender = apprise.Apprise()
    sender.add(channel.url)
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = sender.notify(title=title, body=body, notify_type=notify_type)
    if ok:
        return None
    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    reason = lines[-1].split(" - ", 2)[-1] if lines else "the channel refused the message"
    return one_line(reason, *channel.secret_parts())
