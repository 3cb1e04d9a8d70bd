"""A service's status across probing locations: `down` from every one, `partial` from some (naming where), a
location whose worker is gone stale there alone, one location exactly as before. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashapp.figures import latency_figure
from dashapp.status import PARTIAL, across, board, combined_board, location_boards, view
from dashapp.status_table import location_grid
from jobs.result import SERVICE_NAMES, ProbeResult, Status
from tests.test_web_views import Point, text_of

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
INTERVAL_S = 60


def result(location: str, status: Status = Status.UP, age_s: float = 10, service: str = "valkey") -> ProbeResult:
    error = f"connect timeout from {location}" if status is Status.DOWN else None
    return ProbeResult(
        service=service,
        status=status,
        latency_ms=3.0,
        endpoint="cache.example.com:25061",
        checked_at=NOW - timedelta(seconds=age_s),
        location=location,
        error=error,
    )


def views(**statuses: Status | None) -> dict:
    """{location: view} of Valkey, None: nothing stored from that location."""
    return {
        where: view("valkey", result(where, status) if status else None, NOW, INTERVAL_S)
        for where, status in statuses.items()
    }


def test_down_from_every_reporting_location_is_down_with_each_locations_reason() -> None:
    combined = across("valkey", views(fra1=Status.DOWN, nyc3=Status.DOWN, sfo2=None))
    assert combined.status == "down"
    assert combined.reason == (
        "down from every location: fra1: connect timeout from fra1; nyc3: connect timeout from nyc3"
    )


def test_down_from_some_locations_is_partial_naming_where() -> None:
    combined = across("valkey", views(fra1=Status.DOWN, nyc3=Status.UP, sfo2=Status.DEGRADED))
    assert (combined.status, combined.word, combined.reason) == (
        PARTIAL,
        "partial",
        "unreachable from fra1: connect timeout from fra1",
    )
    assert combined.result is not None and combined.result.location == "fra1"  # the failing location's check


@pytest.mark.parametrize(
    ("statuses", "status"),
    [
        ({"fra1": Status.UP, "nyc3": Status.UP}, "up"),
        ({"fra1": Status.UP, "nyc3": Status.DEGRADED}, "degraded"),
        ({"fra1": None, "nyc3": None}, "stale"),
        ({"fra1": Status.NOT_CONFIGURED, "nyc3": Status.NOT_CONFIGURED}, "not_configured"),
    ],
)
def test_without_a_down_location_the_worst_working_status_wins(statuses: dict, status: str) -> None:
    assert across("valkey", views(**statuses)).status == status


def test_one_location_reads_exactly_as_before() -> None:
    alone = views(fra1=Status.DOWN)
    assert across("valkey", alone) is alone["fra1"]


def test_a_location_whose_worker_is_gone_is_stale_there_alone() -> None:
    latest = {(s, where): result(where, service=s) for s in SERVICE_NAMES for where in ("fra1", "nyc3")}
    latest |= {(s, "nyc3"): result("nyc3", age_s=10 * INTERVAL_S, service=s) for s in SERVICE_NAMES}
    boards = location_boards(latest, ["fra1", "nyc3"], NOW, INTERVAL_S, {})
    assert [v.status for v in boards["fra1"]] == ["up"] * len(SERVICE_NAMES)
    assert [v.status for v in boards["nyc3"]] == ["stale"] * len(SERVICE_NAMES)
    combined = combined_board(boards)
    assert [v.service for v in combined] == list(SERVICE_NAMES)
    assert all(
        v.status == "up" and (v.reason or "").startswith("not reporting from nyc3: worker not") for v in combined
    )


def test_the_combined_board_of_one_location_is_its_board() -> None:
    latest = {("valkey", "fra1"): result("fra1", Status.DOWN)}
    boards = location_boards(latest, ["fra1"], NOW, INTERVAL_S, {"roles_anywhere": "AWS_REGION: bad"})
    assert combined_board(boards) == board(
        {"valkey": latest[("valkey", "fra1")]}, NOW, INTERVAL_S, {"roles_anywhere": "AWS_REGION: bad"}
    )


def test_with_one_location_the_chart_and_the_board_look_as_before() -> None:
    points = [Point(NOW - timedelta(minutes=m), 5.0, 9.0, 1.0, 1) for m in range(3)]
    start = NOW - timedelta(hours=1)
    assert [t.name for t in latency_figure(points, start, NOW, "r").data] == ["max", "median", "failed checks"]
    alone = latency_figure(points, start, NOW, "r", by_location={"fra1": points})
    assert [t.name for t in alone.data] == ["max", "median", "failed checks"]
    two = latency_figure(points, start, NOW, "r", by_location={"fra1": points, "nyc3": points[:1]})
    assert [(t.name, len(t.x)) for t in two.data] == [("fra1", 3), ("nyc3", 1), ("failed checks", 0)]
    assert two.data[0].line.color != two.data[1].line.color
    assert two.data[0].line.dash != two.data[1].line.dash  # told apart without colour too
    boards = location_boards({}, ["fra1"], NOW, INTERVAL_S, {})
    assert location_grid(boards, {}, NOW) == []
    assert location_grid(location_boards({}, ["fra1", "nyc3"], NOW, INTERVAL_S, {}), {}, NOW) != []


def test_each_cell_of_the_location_grid_says_its_status_in_words() -> None:
    """Colour is never the only telling: every cell's badge names the status there."""
    latest = {
        ("valkey", "fra1"): result("fra1"),
        ("valkey", "nyc3"): result("nyc3", Status.DOWN),
        ("valkey", "sgp1"): result("sgp1", age_s=3600),
    }
    boards = location_boards(latest, ["fra1", "nyc3", "sgp1"], NOW, INTERVAL_S, {"roles_anywhere": "AWS_REGION: bad"})
    table = location_grid(boards, {}, NOW)[1]
    rows = table.children[2].children
    said = {
        cell.id: (text_of(cell.children[0]), cell.children[0].className) for row in rows for cell in row.children[1:]
    }
    assert said["cell-valkey-fra1"] == ("up", "status-badge status-up")
    assert said["cell-valkey-nyc3"] == ("down", "status-badge status-down")
    assert said["cell-valkey-sgp1"] == ("stale", "status-badge status-stale")
    assert {said[f"cell-roles_anywhere-{p}"][0] for p in ("fra1", "nyc3", "sgp1")} == {"not configured"}
    assert all(word for word, _ in said.values())
