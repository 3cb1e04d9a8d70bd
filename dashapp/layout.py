"""The page: a static skeleton (filled by callbacks) and the pure builders of its detail panels and health line
(the status table's are in status_table.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, hooks, html

from dashapp.formats import milliseconds
from dashapp.incident_views import alerting_note
from dashapp.ranges import CHART_RANGES, DEFAULT_RANGE
from dashapp.reader import WorkerHealth
from dashapp.status import ServiceView
from dashapp.status_table import check_strip, status_table, when
from jobs.result import OUR_OVERHEAD, SERVICE_NAMES, ProbeResult
from jobs.settings import Settings

PRODUCT = "Hybrid Integration Monitor"
LANGUAGE = "en"


@hooks.index()
def page_shell(index: str) -> str:
    """Dash's HTML shell, made accessible: the page's language, and Dash's script holder as a plain block
    rather than a second <footer> (the page has its own footer landmark)."""
    index = index.replace("<html>", f'<html lang="{LANGUAGE}">', 1)
    return index.replace("<footer>", "<div>", 1).replace("</footer>", "</div>", 1)


def _facts(facts: dict[str, Any]) -> html.Dl:
    items: list[Any] = []
    for key, value in facts.items():
        items += [html.Dt(key.replace("_", " ")), html.Dd(str(value))]
    return html.Dl(items, className="facts")


def certificate_days(detail: dict[str, Any]) -> Any:
    """The client certificate's days left, as the Roles Anywhere probe reports it."""
    return detail.get("cert_days_left")


def subheading(text: str) -> html.H3:
    """A heading inside a detail panel: one level under the accordion's headers, in a small type."""
    return html.H3(text, className="h6")


def detail_panel(view: ServiceView, recent: list[ProbeResult], now: datetime) -> list[Any]:
    result = view.result
    if result is None:
        return [html.P(view.reason or "no check stored yet", className="text-muted mb-2"), check_strip(recent)]
    parts: list[Any] = [
        html.P(
            [
                "Last check ",
                when(result.checked_at, now),
                f" from {result.location}, {milliseconds(result.latency_ms)}.",
            ],
            className="mb-2",
        )
    ]
    if view.reason:
        parts.append(
            dbc.Alert(
                view.reason, color="danger" if view.status == "down" else "secondary", className="py-2 error-text"
            )
        )
    days = certificate_days(result.detail)
    if days is not None:
        parts.append(html.P([html.Strong("Client certificate: "), f"{days} days left"], className="mb-2"))
    if result.phases:
        phases = {k: milliseconds(v) for k, v in result.phases.items()}
        parts += [subheading("Phases of the last check"), _facts(phases)]
    facts = {k: v for k, v in result.detail.items() if k != OUR_OVERHEAD}
    if OUR_OVERHEAD in result.detail:
        overhead = milliseconds(result.detail[OUR_OVERHEAD])
        parts.append(
            html.P([html.Strong("Our overhead: "), f"{overhead} (signing, building requests; not in the latency)"])
        )
    if facts:
        parts += [subheading("Facts"), _facts(facts)]
    parts += [subheading("Recent checks"), check_strip(recent)]
    return parts


def rq_link(rq_on: bool) -> html.A | html.Span:
    """Where to look further. Built once with the page, outside what refreshes replace: a link re-rendered
    every refresh would take the keyboard focus away from whoever is on it."""
    if rq_on:
        return html.A("RQ job dashboard", href="/rq/")
    return html.Span("RQ job dashboard off (set RQ_DASHBOARD_USERNAME/PASSWORD)", className="text-muted")


def delivery_log_link(rq_on: bool) -> html.A | None:
    """The operators' delivery log, behind the same credentials as the RQ dashboard (none: no link)."""
    return html.A("Delivery log", href="/operator/alerts", className="ms-3") if rq_on else None


def health_line(
    health: WorkerHealth | None, last_cycle: datetime | None, now: datetime, problem: str | None
) -> list[Any]:
    """Workers online, queue depth, last finished cycle and failed jobs."""
    if health is None:
        head: list[Any] = [
            dbc.Badge("workers unknown", color="secondary", className="me-2"),
            html.Span(problem or "", className="me-3"),
        ]
    else:
        head = [
            dbc.Badge(
                f"{health.workers} worker{'s' if health.workers != 1 else ''} online",
                color="success" if health.workers else "danger",
                className="me-2",
            ),
            html.Span(f"queue depth {health.queue_depth}", className="me-3"),
            html.Span(
                f"{health.failed_jobs} failed job{'s' if health.failed_jobs != 1 else ''}",
                className="me-3" + (" text-danger" if health.failed_jobs else ""),
            ),
        ]
    return [*head, html.Span(["last cycle ", when(last_cycle, now)], className="me-3")]


def chart_card(service: str) -> dbc.Col:
    header = dbc.CardHeader(
        [
            html.H3(SERVICE_NAMES[service], className="h6 d-inline fw-semibold mb-0"),
            html.Span(id=f"uptime-{service}", className="float-end small"),
        ]
    )
    graph = dcc.Graph(
        id=f"chart-{service}",
        config={"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]},
        className="chart",
    )
    return dbc.Col(
        dbc.Card([header, dbc.CardBody(graph, className="p-1")], className="h-100"), xs=12, lg=6, className="mb-3"
    )


def page(settings: Settings, asset_url: Callable[[str], str]) -> html.Div:
    environment = settings.environment or "environment not named (APP_ENVIRONMENT)"
    header = dbc.Navbar(
        dbc.Container(
            [
                html.H1(
                    [html.Img(src=asset_url("favicon.svg"), height="28", className="me-2", alt=""), PRODUCT],
                    className="navbar-brand fw-normal mb-0",
                ),
                html.Div(
                    [
                        dbc.Badge(environment, color="info", text_color="dark", className="me-2", id="environment"),
                        html.Span(
                            ["probing from ", html.Span(settings.location, id="locations")],
                            className="text-light small",
                        ),
                        # The sign-out page asks for a POST with its CSRF token; a link cannot change state.
                        html.A("Sign out", href="/logout", id="sign-out", className="link-light small ms-3")
                        if settings.access.signs_in
                        else None,
                    ]
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3",
    )
    ranges = dbc.RadioItems(
        id="range",
        name="range",  # one radio group: a single tab stop, arrows move through the choices
        options=[{"label": r, "value": r} for r in CHART_RANGES],
        value=DEFAULT_RANGE,
        inline=True,
        className="btn-group range-picker",
        inputClassName="btn-check",
        labelClassName="btn btn-outline-primary btn-sm",
        labelCheckedClassName="active",
    )
    details = dbc.Accordion(
        [dbc.AccordionItem(html.Div(id=f"detail-{s}"), title=name, item_id=s) for s, name in SERVICE_NAMES.items()],
        id="details",
        always_open=True,
        start_collapsed=True,
    )
    # Landmarks (header, main, footer) hold everything a screen reader user may jump to.
    return html.Div(
        [
            html.Header(header),
            html.Main(
                dbc.Container(
                    [
                        dbc.Alert(id="store-alert", color="warning", is_open=False),
                        html.P(id="headline", className="headline"),
                        alerting_note(settings.alerting.configured),
                        html.Div(
                            id="status-summary",
                            role="status",
                            className="visually-hidden",
                            **{"aria-live": "polite", "aria-atomic": "true"},
                        ),
                        status_table(),
                        # Empty with one location; with several, `location_grid`.
                        html.Div(id="location-grid"),
                        html.Div(
                            [
                                html.Span(id="worker-health"),
                                rq_link(bool(settings.rq_dashboard_username)),
                                delivery_log_link(bool(settings.rq_dashboard_username)),
                            ],
                            className="worker-health small mb-4",
                        ),
                        html.H2("Incidents", className="h5"),
                        html.Div(id="incidents", className="mb-4"),
                        html.H2("Details", className="h5"),
                        details,
                        html.Div(
                            [html.H2("Latency", className="h5 me-3 mb-0"), ranges],
                            className="d-flex flex-wrap align-items-center mt-4 mb-2 gap-2",
                        ),
                        dbc.Row([chart_card(s) for s in SERVICE_NAMES]),
                    ],
                    fluid=True,
                )
            ),
            html.Footer(
                dbc.Container(
                    ["JSON: ", html.A("/api/status", href="/api/status"), " · ", html.A("/metrics", href="/metrics")],
                    fluid=True,
                    className="small text-muted my-3",
                )
            ),
            dcc.Interval(id="refresh", interval=settings.dash_refresh_s * 1000),
            # Each chart's zoom, by service, so a refresh redraws the data inside the user's zoom.
            dcc.Store(id="zoom", data={}),
        ]
    )
