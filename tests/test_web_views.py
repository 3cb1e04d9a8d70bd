"""The board's pure parts: status rules (incl. stale and not configured), time wording, figures and components."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from werkzeug.datastructures import MultiDict

from dashapp.badge import badge_svg
from dashapp.figures import failed_checks, latency_figure, uptime_of
from dashapp.layout import certificate_days, detail_panel, health_line, rq_link
from dashapp.ranges import BadInput, one_value
from dashapp.reader import WorkerHealth
from dashapp.status import ago, board, utc_text, view
from dashapp.status_table import check_strip, status_row
from jobs.result import OUR_OVERHEAD, SERVICE_NAMES, ProbeResult, Status

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def result(status: Status = Status.UP, age_s: float = 10, error: str | None = None, **detail) -> ProbeResult:
    return ProbeResult(
        service="postgres",
        status=status,
        latency_ms=12.34,
        endpoint="db.example.com:25060",
        checked_at=NOW - timedelta(seconds=age_s),
        location="ams3",
        phases={"connect": 8.0, "write": 4.34},
        detail=detail,
        error=error,
    )


@dataclass
class Point:
    t: datetime
    latency_ms_p50: float | None
    latency_ms_max: float | None
    up_ratio: float
    checks: int


# -- status rules -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(Status))
def test_fresh_result_keeps_its_status(status: Status) -> None:
    v = view("postgres", result(status, age_s=149), NOW, probe_interval_s=60)
    assert v.status == status.value


@pytest.mark.parametrize("status", [Status.UP, Status.DOWN, Status.NOT_CONFIGURED])
def test_result_older_than_two_and_a_half_intervals_is_stale(status: Status) -> None:
    v = view("postgres", result(status, age_s=151), NOW, probe_interval_s=60)
    assert v.status == "stale"
    assert v.reason == "worker not reporting since 2026-03-01 11:57:29 UTC (2 min ago)"
    assert (v.colour, v.word, v.is_up) == ("secondary", "stale", False)


def test_nothing_stored_is_not_configured_when_settings_say_why_else_stale() -> None:
    unconfigured = view("secrets_manager", None, NOW, 60, problem="IAM_CLIENT_CERT: missing")
    assert (unconfigured.status, unconfigured.word, unconfigured.reason) == (
        "not_configured",
        "not configured",
        "IAM_CLIENT_CERT: missing",
    )
    waiting = view("postgres", None, NOW, 60)
    assert waiting.status == "stale"
    assert "no check stored yet" in waiting.reason


def test_board_always_has_four_rows_in_display_order() -> None:
    rows = board({"valkey": result()}, NOW, 60, {"roles_anywhere": "AWS_REGION: bad"})
    assert [r.service for r in rows] == list(SERVICE_NAMES)
    assert [r.status for r in rows] == ["stale", "up", "not_configured", "stale"]


def test_every_status_has_a_word_and_a_distinct_look() -> None:
    looks = {s: view("postgres", result(Status(s)), NOW, 60) for s in ("up", "degraded", "down")}
    assert {s: (v.colour, v.word) for s, v in looks.items()} == {
        "up": ("success", "up"),
        "degraded": ("warning", "degraded"),
        "down": ("danger", "down"),
    }


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-3, "just now"), (0, "just now"), (23, "23 s ago"), (119, "119 s ago"), (600, "10 min ago"), (7300, "2 h ago")],
)
def test_ago(seconds: int, text: str) -> None:
    assert ago(NOW - timedelta(seconds=seconds), NOW) == text


def test_utc_text_converts_other_zones() -> None:
    from datetime import timezone

    assert utc_text(datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))) == "2026-03-01 12:00:00 UTC"


# -- figures ------------------------------------------------------------------------------------------------


def test_latency_figure_marks_failed_checks_and_keeps_zoom_across_refreshes() -> None:
    points = [
        Point(NOW - timedelta(minutes=3), 10.0, 12.0, 1.0, 4),
        Point(NOW - timedelta(minutes=2), 11.0, 30.0, 0.5, 4),
        Point(NOW - timedelta(minutes=1), None, None, 0.0, 2),
    ]
    figure = latency_figure(points, NOW - timedelta(hours=1), NOW, revision="postgres:1h")
    traces = {t.name: t for t in figure.data}
    assert list(traces["median"].y) == [10.0, 11.0, None]
    assert list(traces["max"].y) == [12.0, 30.0, None]
    failed = traces["failed checks"]
    assert list(failed.x) == [points[1].t, points[2].t]
    assert list(failed.y) == [30.0, 0]
    assert list(failed.text) == ["2 of 4 checks failed", "2 of 2 checks failed"]
    assert figure.layout.uirevision == "postgres:1h"
    assert list(figure.layout.xaxis.range) == [NOW - timedelta(hours=1), NOW]
    assert not figure.layout.annotations


def test_latency_figure_never_draws_more_than_500_points_and_says_when_empty() -> None:
    many = [Point(NOW - timedelta(minutes=i), 1.0, 2.0, 1.0, 1) for i in range(800, 0, -1)]
    figure = latency_figure(many, NOW - timedelta(days=1), NOW, "x")
    assert all(len(t.x) <= 500 for t in figure.data)
    empty = latency_figure([], NOW - timedelta(hours=1), NOW, "x")
    assert empty.layout.annotations[0].text == "no checks in this range yet"
    assert list(empty.layout.xaxis.range) == [NOW - timedelta(hours=1), NOW]


def test_uptime_of_the_points_weighs_each_bucket_by_its_checks() -> None:
    points = [Point(NOW, 1, 1, 0.75, 8), Point(NOW, 1, 1, 1.0, 2), Point(NOW, None, None, 0.0, 0)]
    assert uptime_of(points) == pytest.approx(8 / 10)
    assert uptime_of([Point(NOW, None, None, None, 0)]) is None
    assert uptime_of([]) is None


def test_failed_checks_counts_only_not_up() -> None:
    assert failed_checks(Point(NOW, 1, 1, 0.75, 8)) == 2
    assert failed_checks(Point(NOW, None, None, 0.0, 0)) == 0


# -- components ---------------------------------------------------------------------------------------------


def text_of(component) -> str:
    """All text in a Dash component tree."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def test_status_row_has_name_badge_endpoint_ago_latency_uptime_and_the_last_checks() -> None:
    recent = [result(Status.DOWN, age_s=23 + 60 * i) if i % 2 else result(age_s=23 + 60 * i) for i in range(30)]
    row = status_row(view("postgres", result(age_s=23), NOW, 60), 0.98765, NOW, recent)
    cells = row.children
    assert text_of(cells[0]) == "PostgreSQL"
    badge = cells[1].children[0]
    assert (badge.children, badge.color) == ("up", "success")
    assert text_of(cells[2]) == "db.example.com:25060"
    when = cells[3].children
    assert (when.children, when.title) == ("23 s ago", "2026-03-01 11:59:37 UTC")
    assert text_of(cells[4]) == "12.3 ms"
    assert text_of(cells[5]) == "98.77 %"
    # The last 20 checks, oldest first, told in words too; hidden below Bootstrap's lg (phones, small tablets).
    strip = cells[6].children
    assert len(strip.children[0].children) == 20 and strip.children[0].children[-1].className == "cell cell-up"
    assert text_of(strip.children[1]) == "last 20 checks: 10 up, 10 not up"
    assert cells[6].className == "d-none d-lg-table-cell"
    assert not any("d-none" in (getattr(c, "className", None) or "") for c in cells[:4])  # a phone's four


def test_detail_panel_shows_phases_error_certificate_and_facts() -> None:
    down = result(Status.DOWN, error="timeout after 5 s", cert_days_left=12, subject_cn="monitor")
    text = text_of(detail_panel(view("postgres", down, NOW, 60), [down], NOW))
    for expected in (
        "timeout after 5 s",
        "12 days left",
        "connect",
        "8.0 ms",
        "subject cn",
        "monitor",
        "last 1 checks",
    ):
        assert expected in text
    assert certificate_days({"tls": True}) is None


def test_detail_panel_shows_our_overhead_apart_from_the_phases_and_facts() -> None:
    checked = result(**{OUR_OVERHEAD: 6.5, "account": "123456789012"})
    text = text_of(detail_panel(view("postgres", checked, NOW, 60), [checked], NOW))
    assert "Our overhead:  6.5 ms (signing, building requests; not in the latency)" in text
    assert text.count("6.5 ms") == 1  # not again among the facts
    assert "123456789012" in text


def test_check_strip_is_oldest_first_with_titles() -> None:
    recent = [result(Status.DOWN, age_s=10, error="refused"), result(Status.UP, age_s=70)]
    strip = check_strip(recent)
    cells = strip.children[0].children
    assert [c.className for c in cells] == ["cell cell-up", "cell cell-down"]
    assert cells[1].title == "2026-03-01 11:59:50 UTC · down · 12.3 ms · refused"
    assert text_of(strip.children[1]) == "last 2 checks: 1 up, 1 not up"


def test_health_line_counts_and_rq_link() -> None:
    text = text_of(health_line(WorkerHealth(2, 0, 1), NOW - timedelta(seconds=5), NOW, None))
    assert "2 workers online" in text and "queue depth 0" in text and "1 failed job" in text and "5 s ago" in text
    off = text_of(health_line(None, None, NOW, "Valkey: connection refused"))
    assert "workers unknown" in off and "Valkey: connection refused" in off and "never" in off
    assert rq_link(rq_on=True).href == "/rq/" and text_of(rq_link(rq_on=True)) == "RQ job dashboard"
    assert "RQ job dashboard off" in text_of(rq_link(rq_on=False))


# -- input validation and badge -----------------------------------------------------------------------------


def test_one_value_accepts_exactly_one_known_value() -> None:
    assert one_value(MultiDict([("range", "1h")]), "range", ["1h", "6h"]) == "1h"
    for args, message in [
        ([], "missing query parameter 'range'; accepted: 1h, 6h"),
        ([("range", "1h"), ("range", "1h")], "given 2 times"),
        ([("range", "x" * 65)], "longer than 64 characters"),
        ([("range", "2h")], "unknown range '2h'; accepted: 1h, 6h"),
    ]:
        with pytest.raises(BadInput, match=message):
            one_value(MultiDict(args), "range", ["1h", "6h"])


SVG = {"svg": "http://www.w3.org/2000/svg"}


def test_badge_escapes_its_text() -> None:
    label, message = '<script>alert(1)</script>"', 'up & 99%" onload="alert(2)'
    svg = badge_svg(label, message, "#198754")
    assert "<script" not in svg
    # Read back as XML, the text is exactly what was given, as text and attribute: no element or attribute
    # was added.
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own output, parsed to check it
    assert [element.tag.rsplit("}", 1)[-1] for element in root.iter()] == [
        "svg",
        "title",
        *["rect"] * 3,
        "g",
        "text",
        "text",
    ]
    assert root.get("aria-label") == root.find("svg:title", SVG).text == f"{label}: {message}"
    assert [text.text for text in root.iter(f"{{{SVG['svg']}}}text")] == [label, message]
    assert set(root.attrib) == {"width", "height", "role", "aria-label"}


def test_zoom_is_remembered_per_range_and_reset_by_autorange() -> None:
    from dashapp.figures import apply_zoom, remember_zoom

    assert remember_zoom(None, {"autosize": True}, "1h") is None
    zoom = remember_zoom(None, {"xaxis.range[0]": "a", "xaxis.range[1]": "b"}, "1h")
    assert zoom == {"range": "1h", "xaxis": ["a", "b"]}
    zoom = remember_zoom(zoom, {"yaxis.range": [1, 5]}, "1h")
    assert zoom == {"range": "1h", "xaxis": ["a", "b"], "yaxis": [1, 5]}
    assert remember_zoom(zoom, {"xaxis.autorange": True, "yaxis.autorange": True}, "1h") == {"range": "1h"}

    figure = latency_figure([Point(NOW, 1.0, 2.0, 1.0, 1)], NOW - timedelta(hours=1), NOW, "x")
    assert apply_zoom(figure, zoom, "6h").layout.xaxis.autorange is None
    zoomed = apply_zoom(figure, zoom, "1h")
    assert (list(zoomed.layout.xaxis.range), zoomed.layout.xaxis.autorange) == (["a", "b"], False)
    assert list(zoomed.layout.yaxis.range) == [1, 5]
