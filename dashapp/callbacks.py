"""Dash callbacks: on every tick of the interval, read the store and rebuild the board and the charts.

The callbacks only read and hand rows to the pure builders in layout.py, status_table.py and figures.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
from dash import Input, Output, State, ctx, html, no_update

from dashapp import snapshot
from dashapp.figures import apply_zoom, latency_figure, remember_zoom, uptime_of
from dashapp.formats import percent
from dashapp.incident_views import (
    INCIDENT_DAYS,
    UNKNOWN,
    headline,
    headline_look,
    incidents_section,
    oldest_open,
    unavailable_section,
)
from dashapp.layout import detail_panel, health_line
from dashapp.ranges import RANGES, chart_range
from dashapp.reader import Reader, Unavailable
from dashapp.status import board
from dashapp.status_table import location_grid, status_row, status_summary
from jobs import store
from jobs.defaults import MAX_INCIDENTS, MAX_POINTS
from jobs.result import SERVICE_NAMES, utcnow
from jobs.settings import Settings


def board_outputs(reader: Reader, settings: Settings) -> tuple[Any, ...]:
    """Status rows, the status summary, the headline (text and look), the incidents, the four detail panels,
    the worker health line, probe locations, the grid by location (empty with one) and the store alert."""
    now = utcnow()
    recent: dict[str, list] = {}
    last_cycle = None
    incidents: list[store.Incident] = []
    incidents_problem: str | None = "the results store is not readable"
    try:
        snap = snapshot.read_board(reader, settings, now)
        if snap.source == snapshot.POSTGRES:
            recent = {s: reader.recent(s, limit=60) for s in SERVICE_NAMES}
            last_cycle = reader.last_cycle_at()
            incidents = reader.incident_history(None, now - timedelta(days=INCIDENT_DAYS), MAX_INCIDENTS)
            incidents_problem = None
        headline_text = headline(snap.views, oldest_open(incidents), now)
    except Unavailable as exc:
        # The page keeps its shape: four rows saying we cannot tell, and why.
        views = board({}, now, settings.probe_interval_s, settings.problems)
        snap = snapshot.Snapshot(now, views, {}, snapshot.NONE, [f"Cannot read the results store right now: {exc}"])
        headline_text, incidents_problem = UNKNOWN, str(exc)
    alert = "; ".join(snap.warnings) or None
    try:
        health, problem = reader.worker_health(), None
    except Unavailable as exc:
        health, problem = None, str(exc)
    rows = [status_row(v, snap.uptime_24h.get(v.service), now, recent.get(v.service, [])) for v in snap.views]
    details = [detail_panel(v, recent.get(v.service, []), now) for v in snap.views]
    locations = ", ".join(snap.by_location or snap.locations) or settings.location
    health_children = health_line(health, last_cycle, now, problem)
    look = "secondary" if headline_text == UNKNOWN else headline_look(snap.views)
    section = (
        unavailable_section(incidents_problem)
        if incidents_problem
        else incidents_section(incidents, now, INCIDENT_DAYS)
    )
    return (
        rows,
        status_summary(snap.views),
        headline_text,
        f"headline border-start border-4 border-{look}",
        section,
        *details,
        health_children,
        locations,
        location_grid(snap.by_location, snap.uptime_by_location, now),
        alert,
        alert is not None,
    )


def chart_outputs(reader: Reader, span: str, zoom: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """Four figures (inside each one's zoom, if the user zoomed in this range) with their incidents shaded,
    and four uptime captions; with several locations, one latency line per location."""
    span = chart_range(span)
    zoom = zoom if isinstance(zoom, dict) else {}
    end = utcnow()
    start = end - RANGES[span]
    figures, captions = [], []
    store_down = False
    by_service: dict[str, list[store.Incident]] = {s: [] for s in SERVICE_NAMES}
    try:
        for incident in reader.incident_history(None, start, MAX_INCIDENTS):
            by_service.setdefault(incident.service, []).append(incident)
    except Unavailable:
        store_down = True
    for service in SERVICE_NAMES:
        try:
            if store_down:  # one bounded wait per refresh, not one per chart
                raise Unavailable("PostgreSQL")
            points = reader.history(service, start, end, max_points=MAX_POINTS)
            by_location = {
                place: reader.history(service, start, end, max_points=MAX_POINTS, location=place)
                for place in reader.settings.locations
                if len(reader.settings.locations) > 1
            }
            caption: Any = f"uptime {percent(uptime_of(points))} over {span}" + "".join(
                f" · {place} {percent(uptime_of(located))}" for place, located in by_location.items()
            )
        except Unavailable:
            store_down = True
            points, by_location = [], {}
            caption = html.Span("history temporarily unavailable", className="text-danger")
        figure = latency_figure(
            points, start, end, revision=f"{service}:{span}", incidents=by_service[service], by_location=by_location
        )
        figures.append(apply_zoom(figure, zoom.get(service), span))
        captions.append(caption)
    return (*figures, *captions)


def register(app: dash.Dash, reader: Reader, settings: Settings) -> None:
    services = list(SERVICE_NAMES)

    @app.callback(
        Output("status-rows", "children"),
        Output("status-summary", "children"),
        Output("headline", "children"),
        Output("headline", "className"),
        Output("incidents", "children"),
        *[Output(f"detail-{s}", "children") for s in services],
        Output("worker-health", "children"),
        Output("locations", "children"),
        Output("location-grid", "children"),
        Output("store-alert", "children"),
        Output("store-alert", "is_open"),
        Input("refresh", "n_intervals"),
    )
    def refresh_board(_tick: int | None) -> tuple[Any, ...]:
        # The status summary is plain text: the same text again leaves its DOM node, and so the live region,
        # untouched (a component there would be re-created, and re-read, on every refresh).
        return board_outputs(reader, settings)

    @app.callback(
        *[Output(f"chart-{s}", "figure") for s in services],
        *[Output(f"uptime-{s}", "children") for s in services],
        Input("refresh", "n_intervals"),
        Input("range", "value"),
        State("zoom", "data"),
    )
    def refresh_charts(_tick: int | None, span: str, zoom: dict[str, Any] | None) -> tuple[Any, ...]:
        return chart_outputs(reader, span, zoom)

    @app.callback(
        Output("zoom", "data"),
        *[Input(f"chart-{s}", "relayoutData") for s in services],
        Input("range", "value"),
        State("zoom", "data"),
        prevent_initial_call=True,
    )
    def keep_zoom(*args: Any) -> Any:
        *_events, span, zoom = args
        span, zoom = chart_range(span), zoom if isinstance(zoom, dict) else {}
        if ctx.triggered_id == "range":
            return {}  # a new range starts unzoomed
        service = str(ctx.triggered_id).removeprefix("chart-")
        if service not in SERVICE_NAMES:
            return no_update
        remembered = remember_zoom(zoom.get(service), ctx.triggered[0]["value"], span)
        if remembered is None:
            return no_update
        return {**zoom, service: remembered}
