"""The JSON API, liveness/readiness and the status badge, on the Dash app's own Flask server."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from dashapp import snapshot
from dashapp.badge import badge_svg
from dashapp.formats import percent
from dashapp.ranges import RANGES, BadInput, one_value, shown, since
from dashapp.reader import Reader, Unavailable
from dashapp.status import HEX, STALE
from jobs.defaults import MAX_INCIDENTS, MAX_POINTS
from jobs.result import SERVICE_NAMES, utcnow
from jobs.settings import Settings
from jobs.store import Incident

log = logging.getLogger(__name__)

# Paths whose errors are answered in JSON rather than Dash's or Flask's HTML.
JSON_PREFIXES = ("/api/", "/badge/", "/healthz", "/readyz", "/metrics", "/_dash-")


def error(message: str, status: int) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


def health_answer(status: str, code: int) -> Response:
    """A health check's answer: one word, nothing about what is behind it."""
    response = jsonify(status=status)
    response.status_code = code
    return response


def json_with_raw_member(fields: dict[str, Any], name: str, raw_json: str) -> Response:
    """A JSON response: `fields` and one more member, `name`, whose value is `raw_json`, JSON text already
    encoded (by PostgreSQL), spliced in rather than parsed and encoded again."""
    head = json.dumps(fields, separators=(",", ":"))
    return Response(f'{head[:-1]},"{name}":{raw_json}}}\n', mimetype="application/json")


def incident_json(incident: Incident) -> dict[str, Any]:
    """An incident as /api/incidents gives it."""
    duration = incident.duration
    return {
        "id": incident.id,
        "service": incident.service,
        "name": SERVICE_NAMES.get(incident.service, incident.service),
        "location": incident.location,
        "level": incident.level,
        "open": incident.ended_at is None,
        "started_at": incident.started_at.isoformat(),
        "ended_at": incident.ended_at.isoformat() if incident.ended_at else None,
        "duration_s": duration.total_seconds() if duration is not None else None,
        "first_error": incident.first_error,
        "worst_status": incident.worst_status,
        "checks_failed": incident.checks_failed,
        "root_cause": incident.root_cause,
        "in_maintenance": incident.in_maintenance,
    }


def blueprint(reader: Reader, settings: Settings) -> Blueprint:
    api = Blueprint("api", __name__)

    @api.after_request
    def no_store(response: Response) -> Response:
        # Everything here is live data or a live verdict: never cache it anywhere.
        response.headers["Cache-Control"] = "no-store"
        return response

    @api.errorhandler(BadInput)
    def bad_input(exc: BadInput) -> Response:
        return error(str(exc), exc.status)

    @api.errorhandler(Unavailable)
    def unavailable(exc: Unavailable) -> Response:
        return error(f"temporarily unavailable: {exc}", 503)

    @api.before_app_request
    def only_the_api_under_its_paths() -> Response | None:
        # A path under /api/ or /badge/ that none of these routes takes (e.g. '/badge//') must not fall through
        # to Dash's catch-all page.
        caught_by_another = request.url_rule is not None and request.blueprint != "api"
        if request.path.startswith(("/api/", "/badge/")) and caught_by_another:
            return error(f"no such path {shown(request.path)}", 404)
        return None

    several = len(settings.locations) > 1
    # Per location asked, the last snapshot answered and its body: a burst sharing a snapshot renders it once.
    answered: dict[str | None, tuple[snapshot.Snapshot, bytes]] = {}

    @api.get("/api/status")
    def status() -> Response:
        location = one_value(request.args, "location", settings.locations, required=False)
        snap = snapshot.read_board(reader, settings, location=location)
        kept = answered.get(location)
        if kept is not None and kept[0] is snap:
            return Response(kept[1], mimetype="application/json")
        response = _status_json(snap, location)
        answered[location] = (snap, response.get_data())
        return response

    def _status_json(snap: snapshot.Snapshot, location: str | None) -> Response:
        services = [snapshot.service_json(v, snap.uptime_24h.get(v.service)) for v in snap.views]
        where: dict[str, Any] = {}
        if several:  # with one location, the answer as it always was
            where = {"location": location} if location else {"locations": list(settings.locations)}
            if location is None and snap.by_location:
                for entry in services:
                    entry["locations"] = snapshot.locations_json(snap, entry["service"])
        return jsonify(
            generated_at=snap.generated_at.isoformat(),
            source=snap.source,
            warnings=snap.warnings,
            **where,
            services=services,
        )

    @api.get("/api/history")
    def history() -> Response:
        service = one_value(request.args, "service", SERVICE_NAMES)
        span = one_value(request.args, "range", RANGES)
        location = one_value(request.args, "location", settings.locations, required=False)
        end = utcnow()
        start = end - RANGES[span]
        points = reader.history_json(service, start, end, max_points=MAX_POINTS, location=location)
        fields = {"service": service, "range": span, "start": start.isoformat(), "end": end.isoformat()}
        return json_with_raw_member(fields | ({"location": location} if location else {}), "points", points)

    @api.get("/api/incidents")
    def incidents() -> Response:
        service = one_value(request.args, "service", SERVICE_NAMES, required=False)
        location = one_value(request.args, "location", settings.locations, required=False)
        start = since(request.args, utcnow())
        rows = reader.incident_history(service, start, MAX_INCIDENTS, location)
        where = {"location": location} if location else {}
        return jsonify(service=service, since=start.isoformat(), **where, incidents=[incident_json(i) for i in rows])

    # Without these, Dash's catch-all page route would answer unknown API paths with the HTML page.
    @api.get("/api/", defaults={"rest": ""})
    @api.get("/api/<path:rest>")
    def unknown(rest: str) -> Response:
        accepted = "GET /api/status, GET /api/history, GET /api/incidents"
        return error(f"no such API path {shown('/api/' + rest)}; accepted: {accepted}", 404)

    @api.get("/healthz")
    def healthz() -> Response:
        # Liveness only: this process answers. Dependencies are /readyz's business.
        return health_answer("ok", 200)

    @api.get("/readyz")
    def readyz() -> Response:
        # Public (the platform's health check): the body says only ok or not ready; what failed, which names
        # internal hosts, goes to the log (and shows on the signed-in board).
        failed = []
        for check in (reader.check_postgres, reader.check_valkey):
            try:
                check()
            except Unavailable as exc:
                failed.append(str(exc))
        if failed:
            log.warning("readyz: not ready: %s", "; ".join(failed))
            return health_answer("not ready", 503)
        return health_answer("ok", 200)

    @api.get("/badge/", defaults={"name": ""})
    @api.get("/badge/<path:name>")
    def badge(name: str) -> Response:
        service = name.removesuffix(".svg")
        if not name.endswith(".svg") or service not in SERVICE_NAMES:
            accepted = ", ".join(f"/badge/{s}.svg" for s in SERVICE_NAMES)
            raise BadInput(f"no badge {shown(name)}; accepted: {accepted}", 404)
        location = one_value(request.args, "location", settings.locations, required=False)
        try:
            snap = snapshot.read_board(reader, settings, location=location)
            view = next(v for v in snap.views if v.service == service)
            message, colour = (
                f"{view.word} · {percent(snap.uptime_24h.get(service), compact=True)} 24h",
                HEX[view.status],
            )
        except Unavailable:
            # A README image should still render: say honestly that we do not know.
            message, colour = "unknown", HEX[STALE]
        return Response(badge_svg(SERVICE_NAMES[service], message, colour), mimetype="image/svg+xml")

    return api


def json_errors(exc: HTTPException) -> Response | HTTPException:
    """App-wide: HTTP errors under the API's paths come back as one-line JSON, never an HTML page."""
    if request.path.startswith(JSON_PREFIXES):
        response = error(f"{exc.code} {exc.name}: {exc.description}".splitlines()[0], exc.code or 500)
        response.headers["Cache-Control"] = "no-store"
        return response
    return exc
