"""Plotly figures built from stored rows. Pure: rows in, figure out, no I/O."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import plotly.graph_objects as go

from dashapp.status import HEX
from jobs.defaults import MAX_POINTS


class HistoryPointLike(Protocol):
    t: datetime
    latency_ms_p50: float | None
    latency_ms_max: float | None
    up_ratio: float | None
    checks: int


class IncidentLike(Protocol):
    level: str
    started_at: datetime
    ended_at: datetime | None


# One colour per probing location's line, in PROBE_LOCATIONS' order (Okabe-Ito: told apart with colour-blindness).
LOCATION_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
# And a dash pattern each, so the lines are told apart without colour too (greyscale print, high contrast).
LOCATION_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")

# How an incident's level reads and shades on a chart: the label's word says what the colour does.
SHADE: dict[str, tuple[str, str]] = {
    "critical": ("down", HEX["down"]),
    "warning": ("degraded", HEX["degraded"]),
    "partial": ("partial", HEX["partial"]),
}


def incident_periods(
    incidents: Sequence[IncidentLike], start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str, str]]:
    """(from, to, fill colour, label) of each incident overlapping [start, end], oldest first, clipped to it;
    an open one lasts to `end`. The label names the level and whether it is still open ('down, open')."""
    periods = []
    for incident in sorted(incidents, key=lambda i: i.started_at):
        until = incident.ended_at or end
        if until < start or incident.started_at > end:
            continue
        word, colour = SHADE.get(incident.level, (incident.level, HEX["stale"]))
        label = f"{word}, open" if incident.ended_at is None else f"{word} incident"
        periods.append((max(incident.started_at, start), min(until, end), colour, label))
    return periods


def failed_checks(point: HistoryPointLike) -> int:
    """How many checks in this bucket were not up (up_ratio counts up and degraded as up)."""
    if not point.checks or point.up_ratio is None:
        return 0
    return round(point.checks * (1 - point.up_ratio))


def uptime_of(points: Sequence[HistoryPointLike]) -> float | None:
    """Share of up (or degraded) checks over all the points' checks; None without checks. The points cover
    the chart's whole range, so the caption needs no query of its own."""
    checks = sum(p.checks for p in points)
    if not checks:
        return None
    return 1 - sum(failed_checks(p) for p in points) / checks


def latency_figure(
    points: Sequence[HistoryPointLike],
    start: datetime,
    end: datetime,
    revision: str,
    incidents: Sequence[IncidentLike] = (),
    by_location: Mapping[str, Sequence[HistoryPointLike]] | None = None,
) -> go.Figure:
    """Latency over [start, end]: median per bucket, the bucket's maximum, failed checks marked in red, and
    the incidents' periods shaded, each labelled with its level. The x axis spans [start, end].

    `by_location` (several locations' points): one median line per location, named after it, instead of the
    median and maximum of every location together.

    `revision` becomes `uirevision`: refreshes with the same value keep the user's zoom; a new range resets it.
    """
    points = list(points)[-MAX_POINTS:]
    figure = go.Figure()
    if by_location and len(by_location) > 1:
        looks = zip(itertools.cycle(LOCATION_COLOURS), itertools.cycle(LOCATION_DASHES), strict=False)
        for (place, given), (colour, dash) in zip(by_location.items(), looks, strict=False):
            located = list(given)[-MAX_POINTS:]
            figure.add_trace(
                go.Scatter(
                    x=[p.t for p in located],
                    y=[p.latency_ms_p50 for p in located],
                    name=place,
                    mode="lines+markers" if len(located) < 120 else "lines",
                    marker={"size": 4},
                    line={"width": 2, "color": colour, "dash": dash},
                    customdata=[p.checks for p in located],
                    hovertemplate=f"{place} median %{{y:.1f}} ms · %{{customdata}} checks<extra></extra>",
                )
            )
    else:
        _add_median_and_max(figure, points)
    _finish(figure, points, start, end, revision, incidents)
    return figure


def _add_median_and_max(figure: go.Figure, points: Sequence[HistoryPointLike]) -> None:
    times = [p.t for p in points]
    figure.add_trace(
        go.Scatter(
            x=times,
            y=[p.latency_ms_max for p in points],
            name="max",
            mode="lines",
            line={"width": 1, "color": "rgba(13,110,253,0.35)", "dash": "dot"},
            hovertemplate="max %{y:.1f} ms<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=times,
            y=[p.latency_ms_p50 for p in points],
            name="median",
            mode="lines+markers" if len(points) < 120 else "lines",
            marker={"size": 4},
            line={"width": 2, "color": "#0d6efd"},
            customdata=[p.checks for p in points],
            hovertemplate="median %{y:.1f} ms · %{customdata} checks<extra></extra>",
        )
    )


def _finish(
    figure: go.Figure,
    points: Sequence[HistoryPointLike],
    start: datetime,
    end: datetime,
    revision: str,
    incidents: Sequence[IncidentLike],
) -> None:
    """The failed checks' marks, the layout, the incidents' shading and the note of an empty range."""
    failed = [p for p in points if failed_checks(p)]
    figure.add_trace(
        go.Scatter(
            x=[p.t for p in failed],
            # A failed bucket may have no latency at all; pin its mark to the axis so it still shows.
            y=[p.latency_ms_max if p.latency_ms_max is not None else 0 for p in failed],
            name="failed checks",
            mode="markers",
            marker={"symbol": "x", "size": 9, "color": HEX["down"], "line": {"width": 1}},
            text=[f"{failed_checks(p)} of {p.checks} checks failed" for p in failed],
            hovertemplate="%{text}<extra></extra>",
        )
    )
    figure.update_layout(
        uirevision=revision,
        height=230,
        margin={"l": 48, "r": 12, "t": 8, "b": 32},
        showlegend=True,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "font": {"size": 11}},
        hovermode="x unified",
        plot_bgcolor="white",
        # The whole range, so gaps (a stopped worker) show as gaps; a user's zoom is applied by apply_zoom.
        xaxis={"range": [start, end], "showgrid": True, "gridcolor": "#eee", "type": "date"},
        yaxis={"title": {"text": "ms"}, "rangemode": "tozero", "showgrid": True, "gridcolor": "#eee"},
    )
    for x0, x1, colour, label in incident_periods(incidents, start, end):
        figure.add_vrect(
            x0=x0,
            x1=x1,
            fillcolor=colour,
            opacity=0.15,
            layer="below",
            line_width=0,
            label={"text": label, "textposition": "top left", "font": {"size": 10, "color": "#212529"}},
        )
    if not points:
        figure.add_annotation(
            text="no checks in this range yet", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5
        )


AXES = ("xaxis", "yaxis")


def remember_zoom(previous: dict[str, Any] | None, relayout: dict[str, Any] | None, span: str) -> dict[str, Any] | None:
    """The user's zoom on one chart after a plotly relayout event, tagged with the range it was made in.

    Returns None when the event is not about the axes (e.g. autosize). Refreshes re-apply the zoom from the
    server (`apply_zoom`): dcc.Graph hands plotly a layout it has already written the zoom into, so
    `uirevision` alone loses the zoom on the next refresh (the browser test checks the zoom survives one).
    """
    # Both come from the browser: anything that is not what plotly sends is ignored.
    if not isinstance(relayout, dict) or not any(key.startswith(AXES) for key in relayout):
        return None
    same_range = isinstance(previous, dict) and previous.get("range") == span
    zoom = dict(previous) if same_range else {"range": span}  # type: ignore[arg-type]
    for axis in AXES:
        pair = axis_range([relayout.get(f"{axis}.range[0]"), relayout.get(f"{axis}.range[1]")])
        pair = pair or axis_range(relayout.get(f"{axis}.range"))
        if relayout.get(f"{axis}.autorange"):
            zoom.pop(axis, None)
        elif pair is not None:
            zoom[axis] = pair
    return zoom


def axis_range(value: object) -> list[Any] | None:
    """[low, high] when `value` is an axis range as plotly gives one (two numbers or two date strings)."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    if all(isinstance(v, str) and len(v) <= 40 for v in value):
        return list(value)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return list(value)
    return None


def apply_zoom(figure: go.Figure, zoom: dict[str, Any] | None, span: str) -> go.Figure:
    """Show the user's zoom if it was made in this range; a zoom from another range no longer applies."""
    if isinstance(zoom, dict) and zoom.get("range") == span:
        for axis in AXES:
            pair = axis_range(zoom.get(axis))
            if pair is None:
                continue
            try:
                figure.update_layout({axis: {"range": pair, "autorange": False}})
            except ValueError:  # a range plotly rejects (the zoom state comes from the browser): not applied
                continue
    return figure
