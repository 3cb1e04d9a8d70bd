"""Notification channels: the ALERT_URLS entries as Apprise sends to them, each known by a hash of its URL and
shown only masked. Apprise's own log lines may quote a URL's tokens, so they are kept out of our logs: its
errors come back through `send`, masked.

Channels come from ALERT_URLS (every message goes to each) and from an Apprise config file, ALERT_CONFIG
(YAML or TEXT), whose entries may carry tags: a tagged channel gets the messages about incidents whose level
(`critical`, `warning`, or `partial`: failing from fewer locations than ALERT_FAILING_LOCATIONS) or service
(`postgres`, `valkey`, …) is one of its tags; an untagged one gets all.

Every message carries its incidents' dedup keys in its body; where Apprise takes a key as a URL parameter it
goes there too: PagerDuty gets one event per incident with `dedup=KEY` (and `action=map` unless the URL names
an action, so a resolved resolves PagerDuty's incident), a JSON webhook a `dedup_key` field (the keys of the
message's incidents, comma-separated)."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import apprise
from apprise.plugins.custom_json import NotifyJSON
from apprise.plugins.pagerduty import NotifyPagerDuty

from jobs.result import one_line
from jobs.settings import AlertSettings

_apprise_log = logging.getLogger("apprise")
_apprise_log.propagate = False
_apprise_log.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Channel:
    key: str  # a hash of the URL: which ALERT_URLS entry, without the URL
    masked: str
    url: str = field(repr=False)
    keyed_by: str = ""  # how Apprise takes a dedup key for this channel: "pagerduty", "json" or "" (body only)
    tags: frozenset[str] = frozenset()  # from ALERT_CONFIG; none: every message

    def wants(self, incident_tags: set[str]) -> bool:
        """Whether messages about an incident with these tags (its level and service) go to this channel."""
        return not self.tags or bool(self.tags & incident_tags)

    @property
    def one_per_incident(self) -> bool:
        """Whether each incident goes in an event of its own (a PagerDuty event has one dedup key)."""
        return self.keyed_by == "pagerduty"

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
        channels.append(_channel(plugin, url))
    return tuple(channels), tuple(problems)


def _channel(plugin: apprise.NotifyBase, url: str, tags: frozenset[str] = frozenset()) -> Channel:
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    keyed_by = {NotifyPagerDuty: "pagerduty", NotifyJSON: "json"}.get(type(plugin), "")
    return Channel(key, _masked(plugin.url(privacy=True)), url, keyed_by, frozenset(map(str, tags)))


def from_config(path: str) -> tuple[tuple[Channel, ...], tuple[str, ...]]:
    """The channels of an Apprise config file, with their tags, and a one-line problem when the file cannot
    be read or some of its entries cannot be used. Parsed again only when the file changed: every cycle asks,
    and an edited file takes effect at the next one without a restart."""
    try:
        version = os.stat(path).st_mtime_ns
    except OSError:
        version = None
    return _parse_config(path, version)


@functools.lru_cache(maxsize=4)
def _parse_config(path: str, _version: int | None) -> tuple[tuple[Channel, ...], tuple[str, ...]]:
    # Apprise's own messages may quote a URL, so they are not repeated.
    config = apprise.AppriseConfig()
    config.add(path)
    with apprise.LogCapture(level=logging.WARNING) as captured:
        plugins = config.services()
    channels = [_channel(plugin, plugin.url(privacy=False), plugin.tags) for plugin in plugins]
    problems = []
    if not channels:
        problems.append(f"ALERT_CONFIG: {path}: no URL Apprise can send to (not readable, or not Apprise YAML/TEXT)")
    elif captured.getvalue().strip():
        problems.append(f"ALERT_CONFIG: {path}: some entries are not URLs Apprise can send to; {len(channels)} used")
    return tuple(channels), tuple(problems)


def load(alerting: AlertSettings) -> tuple[list[Channel], list[str]]:
    """Every channel of ALERT_URLS and ALERT_CONFIG, and the one-line problems of those that cannot be used."""
    channels, problems = parse(alerting.urls)
    if alerting.config:
        more, more_problems = from_config(alerting.config)
        return [*channels, *more], [*problems, *more_problems]
    return list(channels), list(problems)


def keyed_url(channel: Channel, dedup_keys: list[str]) -> str:
    """The channel's URL with the dedup keys of one message as the URL parameters its Apprise plugin reads."""
    params: dict[str, str] = {}
    if channel.keyed_by == "pagerduty":
        params["dedup"] = dedup_keys[0]
        if not any(name == "action" for name, _ in parse_qsl(urlsplit(channel.url).query)):
            params["action"] = "map"  # trigger on a firing or reminder, resolve on a resolved
    elif channel.keyed_by == "json":
        params[":dedup_key"] = ",".join(dedup_keys)
    if not params:
        return channel.url
    return channel.url + ("&" if "?" in channel.url else "?") + urlencode(params)


def send(channel: Channel, title: str, body: str, notify_type: str, dedup_keys: list[str]) -> str | None:
    """Send one message about the incidents of `dedup_keys` (one key for a channel `one_per_incident`); None
    when the channel took it, else why not (one line, secrets masked)."""
    sender = apprise.Apprise()
    sender.add(keyed_url(channel, dedup_keys))
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = sender.notify(title=title, body=body, notify_type=notify_type)
    if ok:
        return None
    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    reason = lines[-1].split(" - ", 2)[-1] if lines else "the channel refused the message"
    return one_line(reason, *channel.secret_parts())
