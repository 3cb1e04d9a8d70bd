"""The operators' page of alerting, /operator/alerts: the delivery log, newest attempts first, failures marked
in words and colour, and "send a test notification" (a POST, which queues the worker's test job; audited).
With sign-in on, dashapp.auth keeps /operator behind it and the POST carries the session's CSRF token; in
AUTH_MODE none, security.install keeps it behind the /rq credentials (404 without them) and refuses a POST
from another site."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import Blueprint, Response, redirect, render_template_string, request

from dashapp import audit, auth, csrf
from dashapp.formats import NO_VALUE
from dashapp.layout import PRODUCT
from dashapp.reader import Reader, Unavailable
from dashapp.status import utc_text
from jobs.settings import Settings
from jobs.store import LoggedAttempt

# Attempts the page shows, newest first.
LOG_SHOWN = 100
OUTCOME_WORD = {"sent": "sent", "failed": "failed, will retry", "gave_up": "gave up"}


@dataclass(frozen=True)
class LogRow:
    at: str
    kind: str
    channel: str
    outcome: str
    error: str
    incidents: str
    failed: bool


def log_rows(attempts: Sequence[LoggedAttempt]) -> list[LogRow]:
    """The delivery log's rows, as given (newest first)."""
    return [
        LogRow(
            at=utc_text(a.attempted_at),
            kind=a.kind,
            channel=a.channel,
            outcome=OUTCOME_WORD.get(a.outcome, a.outcome),
            error=a.error or NO_VALUE,
            incidents=", ".join(f"#{i}" for i in a.incident_ids) or NO_VALUE,
            failed=a.outcome != "sent",
        )
        for a in attempts
    ]


# Jinja escapes every value (render_template_string autoescapes): errors are other servers' words.
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Delivery log · {{ product }}</title>
<link rel="stylesheet" href="/assets/bootstrap.min.css">
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<header class="bg-dark text-light py-2 mb-3"><div class="container-fluid">
<a class="text-light" href="/">{{ product }}</a></div></header>
<main class="container-fluid">
<h1 class="h4">Delivery log</h1>
{% if queued %}
<p class="alert alert-success py-2" role="status">A test notification is queued for every channel in ALERT_URLS;
its attempts appear here once the worker has sent it (reload).</p>
{% endif %}
{% if problem_queueing %}
<p class="alert alert-danger py-2" role="alert">The test notification could not be queued: {{ problem_queueing }}</p>
{% endif %}
{% if alerting %}
<form method="post" action="/operator/alerts/test" class="mb-3 operator-actions">
{% if csrf %}<input type="hidden" name="{{ csrf_field }}" value="{{ csrf }}">{% endif %}
<button type="submit" class="btn btn-outline-primary btn-sm">Send a test notification</button>
</form>
{% else %}
<p>Alerting is off: no notifications are sent. Set <code>ALERT_URLS</code> (one or more Apprise URLs).</p>
{% endif %}
{% if problem %}
<p class="text-danger">Delivery log temporarily unavailable: {{ problem }}</p>
{% elif not rows %}
<p>No notification has been attempted yet.</p>
{% else %}
<div class="table-responsive">
<table class="table table-sm align-middle" id="delivery-log">
<caption>The newest {{ rows|length }} attempts, newest first; failures are marked.</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Channel</th>
<th scope="col">Outcome</th><th scope="col">Error</th><th scope="col">Incidents</th></tr></thead>
<tbody>
{% for row in rows %}
<tr class="{{ 'table-danger attempt-failed' if row.failed else 'attempt-sent' }}">
<td>{{ row.at }}</td><td>{{ row.kind }}</td><td><code>{{ row.channel }}</code></td>
<th scope="row">{{ row.outcome }}</th><td class="error-text">{{ row.error }}</td><td>{{ row.incidents }}</td>
</tr>
{% endfor %}
</tbody>
</table>
</div>
{% endif %}
</main>
<footer class="container-fluid small my-3"><a href="/">Back to the board</a></footer>
</body>
</html>
"""


def blueprint(reader: Reader, settings: Settings) -> Blueprint:
    operator = Blueprint("operator", __name__)
    alerting = settings.alerting.configured

    def page(problem_queueing: str | None = None, status: int = 200) -> Response:
        try:
            rows, problem = log_rows(reader.delivery_log(LOG_SHOWN)), None
        except Unavailable as exc:
            rows, problem = [], str(exc)
        html = render_template_string(
            PAGE,
            product=PRODUCT,
            rows=rows,
            problem=problem,
            alerting=alerting,
            queued=request.args.get("test") == "queued",
            problem_queueing=problem_queueing,
            csrf=csrf.csrf_token() if settings.access.signs_in else None,
            csrf_field=csrf.FIELD,
        )
        return Response(html, status=503 if problem is not None else status, mimetype="text/html")

    @operator.get("/operator/alerts")
    def alerts() -> Response:
        return page()

    @operator.post("/operator/alerts/test")
    def send_test() -> Response:
        if settings.access.signs_in:
            csrf.check_csrf()
        if not alerting:
            return page("ALERT_URLS is not set", 409)
        try:
            reader.enqueue_test_notification()
        except Unavailable as exc:
            return page(str(exc), 503)
        audit.record("test notification", auth.signed_in_user() or "-")
        # Post/redirect/get: a reload of the page does not send another test.
        return redirect("/operator/alerts?test=queued", code=303)

    return operator
