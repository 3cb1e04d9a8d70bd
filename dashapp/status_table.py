"""The status table, pure: a row per service (status, endpoint, when, latency, 24 h uptime, its last checks as a
strip of cells) and, with several probing locations, the grid of services by location."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from dashapp.formats import NO_VALUE, milliseconds, percent
from dashapp.status import ServiceView, ago, utc_text
from jobs.result import SERVICE_NAMES, ProbeResult

STRIP = "Last checks"
COLUMNS = ("Service", "Status", "Endpoint / FQDN", "Last Updated", "Latency (last)", "Uptime (24 h)", STRIP)
# Columns a phone can live without (they stay in the per-service detail), by the Bootstrap breakpoint from
# which they show: the four others fit a 390 px wide screen.
SHOWN_FROM = {"Latency (last)": "md", "Uptime (24 h)": "md", STRIP: "lg"}
# Checks in a row's strip; the detail panel shows more.
ROW_CHECKS = 20


def status_badge(view: ServiceView) -> dbc.Badge:
    return dbc.Badge(
        view.word,
        color=view.colour,
        text_color="dark" if view.colour == "warning" else None,
        className=f"status-badge status-{view.status}",
        title=view.reason or view.word,
    )


def when(moment: datetime | None, now: datetime) -> html.Span:
    """'23 s ago' with the exact UTC time on hover."""
    if moment is None:
        return html.Span("never", className="text-muted")
    return html.Span(ago(moment, now), title=utc_text(moment), className="when")


def _shown_from(column: str) -> str | None:
    """The classes hiding a column below its breakpoint (None: always shown)."""
    breakpoint = SHOWN_FROM.get(column)
    return f"d-none d-{breakpoint}-table-cell" if breakpoint else None


def _cell(content: Any, column: str) -> html.Td:
    return html.Td(content, className=_shown_from(column))


def status_row(view: ServiceView, uptime_24h: float | None, now: datetime, recent: list[ProbeResult]) -> html.Tr:
    result = view.result
    reason = html.Div(view.reason, className="reason small text-muted") if view.reason else None
    return html.Tr(
        [
            html.Th(view.name, scope="row"),
            html.Td([status_badge(view), reason]),
            html.Td(html.Code(result.endpoint) if result and result.endpoint else NO_VALUE, className="endpoint"),
            html.Td(when(result.checked_at if result else None, now)),
            _cell(
                milliseconds(result.latency_ms if result and view.status != "not_configured" else None),
                "Latency (last)",
            ),
            _cell(percent(uptime_24h), "Uptime (24 h)"),
            _cell(check_strip(recent[:ROW_CHECKS]), STRIP),
        ],
        id=f"row-{view.service}",
        className=f"service-row status-{view.status}",
    )


def status_summary(views: list[ServiceView]) -> str:
    """One sentence of every service's status word, for the page's polite live region: it changes only when a
    status does, so a screen reader announces changes rather than the whole table on every refresh."""
    return "; ".join(f"{v.name}: {v.word}" for v in views) + "."


def status_table() -> dbc.Table:
    head = html.Thead(html.Tr([html.Th(c, scope="col", className=_shown_from(c)) for c in COLUMNS]))
    return dbc.Table(
        [html.Caption("Services", className="visually-hidden"), head, html.Tbody(id="status-rows")],
        id="status-table",
        hover=True,
        responsive=True,
        className="align-middle",
    )


def location_grid(
    by_location: Mapping[str, list[ServiceView]], uptimes: Mapping[tuple[str, str], float | None], now: datetime
) -> list[Any]:
    """With several locations, a table of services by location: each cell the location's status, last latency,
    when it was checked and its 24 h uptime. Nothing with one location (the board is the table above)."""
    if len(by_location) < 2:
        return []
    head = html.Thead(html.Tr([html.Th("Service", scope="col"), *[html.Th(p, scope="col") for p in by_location]]))
    rows = []
    for index, service in enumerate(SERVICE_NAMES):
        cells = []
        for place, views in by_location.items():
            view = views[index]
            result = view.result
            latency = result.latency_ms if result and view.status != "not_configured" else None
            cells.append(
                html.Td(
                    [
                        status_badge(view),
                        html.Span(f" {milliseconds(latency)} · ", className="small"),
                        when(result.checked_at if result else None, now),
                        html.Div(f"uptime {percent(uptimes.get((service, place)))} (24 h)", className="small"),
                    ],
                    id=f"cell-{service}-{place}",
                )
            )
        rows.append(html.Tr([html.Th(SERVICE_NAMES[service], scope="row"), *cells]))
    table = dbc.Table(
        [html.Caption("Services by probing location", className="visually-hidden"), head, html.Tbody(rows)],
        id="location-table",
        responsive=True,
        size="sm",
        className="align-middle",
    )
    return [html.H2("By location", className="h5"), table]


def check_strip(recent: list[ProbeResult]) -> html.Div:
    """The last checks, oldest first, one coloured cell each; the title says what colour alone would not."""
    cells = [
        html.Span(
            className=f"cell cell-{r.status.value}",
            title=f"{utc_text(r.checked_at)} · {r.status.value} · {r.latency_ms:.1f} ms"
            + (f" · {r.error}" if r.error else ""),
        )
        for r in reversed(recent)
    ]
    failed = sum(1 for r in recent if r.status.value not in ("up", "degraded"))
    summary = f"last {len(recent)} checks: {len(recent) - failed} up, {failed} not up" if recent else "no checks yet"
    return html.Div([html.Div(cells, className="strip", role="img", **{"aria-label": summary}), html.Small(summary)])
