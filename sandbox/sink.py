"""A local notification sink for `make run`: an HTTP server that takes webhooks (Apprise's `json://` POSTs) and
shows what arrived on a page, and an SMTP server (aiosmtpd) that takes e-mail (Apprise's `mailto://`), both on
127.0.0.1. Messages are kept in memory, newest first, the oldest dropped past `keep`. `alert_urls` is the
`ALERT_URLS` value that sends to both. Development only: the product never imports this module.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from sandbox.embedded import free_port

WEBHOOK, EMAIL = "webhook", "e-mail"
MAIL_FROM, MAIL_TO = "monitor@sandbox.localhost", "operator@sandbox.localhost"
# A request body larger than this is not a notification.
MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Notification:
    received: datetime
    channel: str  # WEBHOOK or EMAIL
    title: str
    body: str


def one_line(notification: Notification, width: int = 300) -> str:
    """The notification as one line for a terminal: channel, title, body with its line breaks shown as ' / '."""
    body = " / ".join(line.strip() for line in notification.body.splitlines() if line.strip())
    text = f"{notification.channel}: {notification.title}" + (f" | {body}" if body else "")
    return text if len(text) <= width else text[: width - 1] + "…"


def render_page(notifications: Iterable[Notification], refresh_s: int = 5) -> str:
    """The sink's page: a table of the notifications as given (newest first), every field escaped."""
    rows = "".join(
        "<tr>"
        f"<td>{n.received:%Y-%m-%d %H:%M:%S} UTC</td><td>{html.escape(n.channel)}</td>"
        f"<td>{html.escape(n.title)}</td><td class=body>{html.escape(n.body)}</td>"
        "</tr>"
        for n in notifications
    )
    table = (
        "<table><thead><tr><th>Received</th><th>Channel</th><th>Title</th><th>Body</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else "<p>No notifications yet. Break a service of the local sandbox to get one: "
        "<code>python -m sandbox break roles_anywhere</code> (then <code>python -m sandbox heal</code>).</p>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{refresh_s}"><title>Notifications (local sink)</title>'
        "<style>body{font-family:sans-serif;margin:1rem}table{border-collapse:collapse;width:100%}"
        "th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}"
        ".body{white-space:pre-wrap}</style></head><body>"
        "<h1>Notifications received by the local sink</h1>"
        f"<p>Newest first; this page refreshes every {refresh_s} s.</p>{table}</body></html>"
    )


def webhook_notification(body: bytes, received: datetime) -> Notification:
    """A webhook POST: Apprise's JSON (`title`, `message`), else the body as text."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return Notification(received, WEBHOOK, str(data.get("title") or ""), str(data.get("message") or ""))
    return Notification(received, WEBHOOK, "", body.decode(errors="replace"))


def email_notification(content: bytes, received: datetime) -> Notification:
    """An e-mail: its subject and its plain-text part (else its HTML part, as sent), with SMTP's CRLF line
    breaks as the webhook's."""
    message = email.message_from_bytes(content, policy=email.policy.default)
    part = message.get_body(preferencelist=("plain", "html")) if isinstance(message, EmailMessage) else None
    body = part.get_content() if isinstance(part, EmailMessage) else ""
    return Notification(received, EMAIL, str(message["subject"] or ""), "\n".join(body.strip().splitlines()))


class Inbox:
    """The notifications received, bounded; `on_receive` is called with each (from the receiving thread)."""

    def __init__(self, keep: int, on_receive: Callable[[Notification], None] | None = None):
        self._items: deque[Notification] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._on_receive = on_receive

    def add(self, notification: Notification) -> None:
        with self._lock:
            self._items.append(notification)
        if self._on_receive:
            self._on_receive(notification)

    def newest_first(self) -> list[Notification]:
        with self._lock:
            return list(reversed(self._items))


class _Http(ThreadingHTTPServer):
    daemon_threads = True
    inbox: Inbox


class _HttpHandler(BaseHTTPRequestHandler):
    server: _Http
    timeout = 10

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/":
            self._answer(404, "text/plain", b"Not found: the notifications are at /\n")
            return
        self._answer(200, "text/html; charset=utf-8", render_page(self.server.inbox.newest_first()).encode())

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._answer(400, "text/plain", b"Content-Length is missing, not a number or too large\n")
            return
        self.server.inbox.add(webhook_notification(self.rfile.read(length), datetime.now(UTC)))
        self._answer(200, "application/json", b'{"received": true}')

    def _answer(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # each notification is reported once, by the inbox


class _SmtpHandler:
    def __init__(self, inbox: Inbox):
        self._inbox = inbox

    # aiosmtpd calls it with each message taken.
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self._inbox.add(email_notification(envelope.content, datetime.now(UTC)))  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"


class NotificationSink:
    """The webhook receiver and page on http://127.0.0.1:`http_port`, the SMTP server on `smtp_port`."""

    def __init__(self, keep: int = 200, on_receive: Callable[[Notification], None] | None = None):
        self.inbox = Inbox(keep, on_receive)
        self._http = _Http(("127.0.0.1", 0), _HttpHandler)
        self._http.inbox = self.inbox
        # aiosmtpd checks it is up by connecting to its port, so it needs a fixed one.
        self.smtp_port = free_port()
        self._smtp = Controller(_SmtpHandler(self.inbox), hostname="127.0.0.1", port=self.smtp_port)
        self._thread: threading.Thread | None = None

    @property
    def http_port(self) -> int:
        return self._http.server_address[1]

    @property
    def url(self) -> str:
        """The page listing what arrived."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def webhook_url(self) -> str:
        return f"json://127.0.0.1:{self.http_port}/hook"

    @property
    def mailto_url(self) -> str:
        # Plain SMTP on the sink's port: no TLS (`mode=insecure`), no login (no user in the URL), and plain
        # text (`format=text`) so the body keeps its line breaks.
        return (
            f"mailto://127.0.0.1:{self.smtp_port}?smtp=127.0.0.1&mode=insecure&format=text"
            f"&from={MAIL_FROM}&to={MAIL_TO}"
        )

    @property
    def alert_urls(self) -> str:
        """`ALERT_URLS` for the product: both channels."""
        return f"{self.webhook_url} {self.mailto_url}"

    def start(self) -> NotificationSink:
        self._smtp.start()
        self._thread = threading.Thread(target=self._http.serve_forever, name="notification-sink", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._smtp.stop()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> NotificationSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
