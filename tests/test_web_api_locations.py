"""The API with several probing locations, on the real Flask server against a real PostgreSQL: each service
across the locations (`down`, `partial`) and at each one, one location alone with `location`, a location
whose worker is gone stale there alone; with one location the answer is as it always was."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from dashapp.callbacks import board_outputs, chart_outputs
from dashapp.public_status import read_public_status
from dashapp.reader import Reader
from jobs import buffer, store
from jobs.defaults import BOARD_READ_S
from jobs.result import SERVICE_NAMES, Status, utcnow
from sandbox.embedded import free_port
from tests.stack_support import wait_until
from tests.test_web_api import build
from tests.web_support import result

LOCATIONS = {"PROBE_LOCATIONS": "fra1,nyc3", "PROBE_LOCATION": "fra1"}


def write_at(settings, location: str, at, statuses: dict[str, Status]) -> None:
    """One cycle of `location`, stored for the slot `at`."""
    conn = store.connect(settings.postgres, 5)
    try:
        store.migrate(conn)
        results = [
            dataclasses.replace(result(s, at, status, 10.0), location=location) for s, status in statuses.items()
        ]
        store.write_results(conn, results, slot=at)
    finally:
        conn.close()


@pytest.fixture
def two_locations(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """fra1 and nyc3, PROBE_INTERVAL_S=60: Valkey down from nyc3 only, Roles Anywhere down from both; two
    cycles each, the older one all up."""
    settings, client = build({**base_env, **LOCATIONS, "PROBE_INTERVAL_S": "60", "PROBE_TIMEOUT_S": "5"}, monkeypatch)
    now = utcnow()
    up = dict.fromkeys(SERVICE_NAMES, Status.UP)
    for location in ("fra1", "nyc3"):
        write_at(settings, location, now - timedelta(minutes=1), up)
    write_at(settings, "fra1", now, {**up, "roles_anywhere": Status.DOWN})
    write_at(settings, "nyc3", now, {**up, "valkey": Status.DOWN, "roles_anywhere": Status.DOWN})
    return settings, client


def test_status_across_locations_is_down_from_every_one_and_partial_from_some(two_locations) -> None:
    _, client = two_locations
    body = client.get("/api/status").get_json()
    assert body["locations"] == ["fra1", "nyc3"]
    services = {s["service"]: s for s in body["services"]}
    assert [s["service"] for s in body["services"]] == list(SERVICE_NAMES)
    assert {s: v["status"] for s, v in services.items()} == {
        "postgres": "up",
        "valkey": "partial",
        "roles_anywhere": "down",
        "secrets_manager": "up",
    }
    assert services["valkey"]["reason"] == "unreachable from nyc3: valkey check failed: connection refused"
    assert services["valkey"]["location"] == "nyc3"  # the failing location's check
    assert services["roles_anywhere"]["reason"].startswith("down from every location: fra1: roles_anywhere check")
    valkey = services["valkey"]["locations"]
    assert (valkey["fra1"]["status"], valkey["nyc3"]["status"]) == ("up", "down")
    assert (valkey["fra1"]["uptime_24h"], valkey["nyc3"]["uptime_24h"]) == (1.0, 0.5)
    assert services["valkey"]["uptime_24h"] == 0.75  # every check of every location


def test_several_locations_are_read_once_a_second_whichever_location_is_asked(base_env, monkeypatch) -> None:
    settings, client = build({**base_env, **LOCATIONS, "PROBE_INTERVAL_S": "60"}, monkeypatch)
    now = utcnow()
    for location in ("fra1", "nyc3"):
        write_at(settings, location, now, dict.fromkeys(SERVICE_NAMES, Status.UP))
    first = client.get("/api/status").get_json()["services"]
    write_at(settings, "nyc3", now + timedelta(seconds=1), {"valkey": Status.DOWN})
    # A burst of requests, for every location or one, shares the first one's read of the store ...
    assert client.get("/api/status").get_json()["services"] == first
    assert client.get("/api/status?location=nyc3").get_json()["services"][1]["status"] == "up"
    # ... and the next read, a second later, shows the newer cycle.
    assert wait_until(
        lambda: client.get("/api/status").get_json()["services"][1]["status"] == "partial", 2 * BOARD_READ_S
    )
    assert client.get("/api/status?location=nyc3").get_json()["services"][1]["status"] == "down"


def test_status_of_one_location_alone(two_locations) -> None:
    _, client = two_locations
    body = client.get("/api/status?location=nyc3").get_json()
    assert body["location"] == "nyc3" and "locations" not in body
    assert [s["status"] for s in body["services"]] == ["up", "down", "down", "up"]
    assert {s["location"] for s in body["services"]} == {"nyc3"}
    assert all("locations" not in s for s in body["services"])
    assert body["services"][1]["uptime_24h"] == 0.5


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("location=sfo2", "unknown location 'sfo2'; accepted: fra1, nyc3"),
        ("location=fra1&location=nyc3", "query parameter 'location' given 2 times; give it once, one of: fra1, nyc3"),
    ],
)
def test_an_unknown_location_is_a_one_line_400_naming_the_accepted_ones(two_locations, query, message) -> None:
    _, client = two_locations
    response = client.get(f"/api/status?{query}")
    assert response.status_code == 400
    assert response.get_json() == {"error": message}


def test_a_location_whose_worker_is_gone_is_stale_there_alone(base_env, monkeypatch) -> None:
    settings, client = build({**base_env, **LOCATIONS}, monkeypatch)  # PROBE_INTERVAL_S=2: stale after 5 s
    up = dict.fromkeys(SERVICE_NAMES, Status.UP)
    write_at(settings, "fra1", utcnow(), up)
    write_at(settings, "nyc3", utcnow() - timedelta(seconds=30), up)
    services = client.get("/api/status").get_json()["services"]
    assert {s["status"] for s in services} == {"up"}
    assert {s["locations"]["nyc3"]["status"] for s in services} == {"stale"}
    assert {s["locations"]["fra1"]["status"] for s in services} == {"up"}
    assert all(s["reason"].startswith("not reporting from nyc3: worker not reporting since") for s in services)


def test_with_one_location_the_answer_is_as_always(base_env, monkeypatch) -> None:
    settings, client = build(base_env, monkeypatch)  # PROBE_LOCATION=test alone
    write_at(settings, "test", utcnow(), dict.fromkeys(SERVICE_NAMES, Status.UP))
    plain = client.get("/api/status").get_json()
    assert set(plain) == {"generated_at", "source", "warnings", "services"}
    assert all("locations" not in s for s in plain["services"])
    named = client.get("/api/status?location=test").get_json()
    assert named["services"] == plain["services"]
    # Rows of a location that no longer probes are not this one's: asked by name, its own results answer.
    write_at(settings, "retired", utcnow() + timedelta(seconds=5), {"valkey": Status.DOWN})
    time.sleep(BOARD_READ_S)
    assert client.get("/api/status").get_json()["services"][1]["location"] == "retired"
    named = client.get("/api/status?location=test").get_json()["services"][1]
    assert (named["location"], named["status"]) == ("test", "up")
    response = client.get("/api/status?location=fra1")
    assert response.status_code == 400
    assert response.get_json() == {"error": "unknown location 'fra1'; accepted: test"}


def test_history_of_one_location_or_of_every_one(two_locations) -> None:
    _, client = two_locations

    def checks(query: str) -> tuple[int, int]:
        body = client.get(f"/api/history?service=valkey&{query}").get_json()
        points = body["points"]
        return sum(p["checks"] for p in points), round(sum(p["up_ratio"] * p["checks"] for p in points))

    assert checks("range=1h") == (4, 3)
    assert checks("range=1h&location=nyc3") == (2, 1)
    assert checks("range=1h&location=fra1") == (2, 2)
    body = client.get("/api/history?service=valkey&range=1h&location=nyc3").get_json()
    assert body["location"] == "nyc3"
    assert "location" not in client.get("/api/history?service=valkey&range=1h").get_json()
    response = client.get("/api/history?service=valkey&range=1h&location=sfo2")
    assert (response.status_code, response.get_json()) == (
        400,
        {"error": "unknown location 'sfo2'; accepted: fra1, nyc3"},
    )


def test_the_board_shows_each_location_and_the_charts_draw_a_line_per_location(two_locations) -> None:
    settings, _ = two_locations
    reader = Reader(settings)
    try:
        rows, summary, headline, _look, *_rest, locations, grid, _alert, _open = board_outputs(reader, settings)
        assert locations == "fra1, nyc3"
        assert headline.startswith("1 of 4 down: AWS IAM Roles Anywhere · 1 of 4 partial: Valkey"), headline
        assert "Valkey: partial" in summary
        assert "status-partial" in str(rows[1])  # Valkey: down from nyc3 only
        table = str(grid)
        assert "cell-valkey-nyc3" in table and "cell-valkey-fra1" in table
        cells = {c.id: c for c in grid[1].children[2].children[1].children[1:]}
        assert "status-down" in str(cells["cell-valkey-nyc3"]) and "status-up" in str(cells["cell-valkey-fra1"])
        outputs = chart_outputs(reader, "1h")
        valkey, caption = outputs[1], outputs[len(SERVICE_NAMES) + 1]
        assert [t.name for t in valkey.data] == ["fra1", "nyc3", "failed checks"]
        assert caption == "uptime 75.00 % over 1h · fra1 100.00 % · nyc3 50.00 %"
    finally:
        reader.close()


def test_incidents_of_one_location_or_of_every_one(two_locations) -> None:
    settings, client = two_locations
    conn = store.connect(settings.postgres, 5)
    try:
        with store.transaction(conn) as cur:
            for location in ("fra1", "nyc3"):
                store.open_incident(cur, "roles_anywhere", location, "critical", utcnow(), "refused", None)
            store.open_incident(cur, "valkey", "nyc3", "critical", utcnow(), "timeout", None)
    finally:
        conn.close()

    def found(query: str) -> list[tuple[str, str]]:
        body = client.get(f"/api/incidents?{query}").get_json()
        return sorted((i["service"], i["location"]) for i in body["incidents"])

    assert found("") == [("roles_anywhere", "fra1"), ("roles_anywhere", "nyc3"), ("valkey", "nyc3")]
    assert found("location=fra1") == [("roles_anywhere", "fra1")]
    assert found("location=nyc3&service=valkey") == [("valkey", "nyc3")]
    assert client.get("/api/incidents?location=nyc3").get_json()["location"] == "nyc3"
    response = client.get("/api/incidents?location=sfo2")
    assert (response.status_code, response.get_json()) == (
        400,
        {"error": "unknown location 'sfo2'; accepted: fra1, nyc3"},
    )


def test_the_public_status_page_says_partial_outage_without_naming_a_location(two_locations) -> None:
    settings, _ = two_locations
    reader = Reader(settings)
    try:
        public = read_public_status(reader, settings, utcnow())
    finally:
        reader.close()
    assert [s.word for s in public.services] == ["Operational", "Partial outage", "Down", "Operational"]
    assert public.overall == "1 of 4 down: AWS IAM Roles Anywhere; 1 of 4 partially down: Valkey"


def test_while_postgres_is_unreachable_each_locations_cached_results_are_shown(valkey_url, monkeypatch) -> None:
    env = {**LOCATIONS, "DATABASE_URL": f"postgresql://monitor:pw@127.0.0.1:{free_port()}/db", "VALKEY_URL": valkey_url}
    _, client = build(env, monkeypatch)
    cache = redis.Redis.from_url(valkey_url)
    now = utcnow()
    for location, down in (("fra1", ()), ("nyc3", ("valkey",))):
        cycle = [result(s, now, Status.DOWN if s in down else Status.UP, 5.0) for s in SERVICE_NAMES]
        buffer.cache_latest(cache, [dataclasses.replace(r, location=location) for r in cycle], 600)
    cache.close()
    body = client.get("/api/status").get_json()
    assert body["source"] == "valkey-cache"
    assert [s["status"] for s in body["services"]] == ["up", "partial", "up", "up"]
    assert body["services"][1]["locations"]["nyc3"]["status"] == "down"
    assert [s["status"] for s in client.get("/api/status?location=nyc3").get_json()["services"]] == [
        "up",
        "down",
        "up",
        "up",
    ]


def test_metrics_give_each_service_at_each_location(two_locations) -> None:
    _, client = two_locations
    text = client.get("/metrics").get_data(as_text=True)
    samples = {
        (s.name, s.labels.get("service"), s.labels.get("location")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples["hybrid_monitor_up", "valkey", None] == 0  # partial: not up across the locations
    assert samples["hybrid_monitor_location_up", "valkey", "fra1"] == 1
    assert samples["hybrid_monitor_location_up", "valkey", "nyc3"] == 0
    assert samples["hybrid_monitor_location_uptime_24h_ratio", "valkey", "nyc3"] == 0.5
    assert samples["hybrid_monitor_location_stale", "postgres", "nyc3"] == 0


def test_with_one_location_metrics_have_no_location_families(base_env, monkeypatch) -> None:
    settings, client = build(base_env, monkeypatch)
    write_at(settings, "test", utcnow(), dict.fromkeys(SERVICE_NAMES, Status.UP))
    assert "hybrid_monitor_location_" not in client.get("/metrics").get_data(as_text=True)


def test_badges_across_the_locations_or_of_one(two_locations) -> None:
    _, client = two_locations

    def badge(query: str) -> str:
        response = client.get(f"/badge/valkey.svg{query}")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        return response.get_data(as_text=True)

    assert "partial · 75.0% 24h" in badge("")
    assert "down · 50.0% 24h" in badge("?location=nyc3")
    assert "up · 100.0% 24h" in badge("?location=fra1")
    response = client.get("/badge/valkey.svg?location=sfo2")
    assert (response.status_code, response.get_json()) == (
        400,
        {"error": "unknown location 'sfo2'; accepted: fra1, nyc3"},
    )
