"""The public status page (/status) and the badges, on the real Flask server against a real PostgreSQL/Valkey:
off by default, exact uptimes from the rollups, open incidents' public summary, nothing internal in the body,
and the brief cache."""

from __future__ import annotations

import gzip
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from dashapp import status_page
from jobs import buffer, store
from jobs.result import SERVICE_NAMES, ProbeResult, Status, utcnow
from jobs.settings import Settings
from tests.test_web_api import build

# Distinctive internal strings the seeded rows hold; none may reach a public body.
ENDPOINT = "db-7f3a.internal.example:6432"
ERROR = "refused by 10.9.8.7:6432 token=sekrit-ZQ19"
PHASE = "tls_handshake_zq"
DETAIL = "17.2-internal-zq"
LOCATIONS = ("dc-hidden-zq", "dc-other-zq")
INCIDENT_ERROR = "incident-error-text-zq"
ROOT_CAUSE = "root-cause-zq"
INTERNAL = (ENDPOINT, "db-7f3a", "10.9.8.7", ":6432", "sekrit", PHASE, DETAIL, *LOCATIONS, INCIDENT_ERROR, ROOT_CAUSE)

# Checks before now, by age: four in the last 24 h (the newest first), four more in 30 d, eight more in 90 d.
DAY_AGES = [timedelta(seconds=30), timedelta(hours=1), timedelta(hours=2), timedelta(hours=3)]
MONTH_AGES = [timedelta(days=d) for d in (2, 5, 10, 20)]
QUARTER_AGES = [timedelta(days=d) for d in range(40, 80, 5)]
# Each service's status at each age; anything not listed is `up`.
SEEDED = {
    "postgres": {timedelta(hours=1): Status.DOWN, **dict.fromkeys(QUARTER_AGES, Status.DOWN)},
    "valkey": {timedelta(seconds=30): Status.DEGRADED},
    "roles_anywhere": {timedelta(seconds=30): Status.DOWN},
}
# The table the page must show: name, status, uptime 24 h / 30 d / 90 d.
EXPECTED_ROWS = [
    ["PostgreSQL", "✓ Operational", "75.00 %", "87.50 %", "43.75 %"],  # 3/4, 7/8, 7/16
    ["Valkey", "! Degraded", "100.00 %", "100.00 %", "100.00 %"],  # degraded counts as working
    ["AWS IAM Roles Anywhere", "✕ Down", "75.00 %", "87.50 %", "93.75 %"],  # 3/4, 7/8, 15/16
    ["AWS Secrets Manager", "○ Not monitored", "—", "—", "—"],  # not_configured checks are not checks
]


def internal_result(service: str, at: datetime, status: Status) -> ProbeResult:
    failed = status in (Status.DOWN, Status.NOT_CONFIGURED)
    return ProbeResult(
        service=service,
        status=status,
        latency_ms=12.5,
        endpoint=ENDPOINT,
        checked_at=at,
        location=LOCATIONS[0],
        phases={PHASE: 12.5},
        detail={"server_version": DETAIL},
        error=f"{service}: {ERROR}" if failed else None,
    )


def seed(settings: Settings, now: datetime) -> None:
    """The checks of SEEDED, rolled up and pruned as the worker's maintenance does (no raw row older than 14
    days is left, so the 90 d uptime can only come from the rollups); then incidents: Roles Anywhere's open at
    two locations (critical and warning), Valkey's open (warning), PostgreSQL's resolved."""
    conn = store.connect(settings.postgres, 10)
    try:
        store.migrate(conn)
        for age in DAY_AGES + MONTH_AGES + QUARTER_AGES:
            at = now - age
            results = [internal_result(s, at, statuses.get(age, Status.UP)) for s, statuses in SEEDED.items()]
            if age == DAY_AGES[0]:
                results.append(internal_result("secrets_manager", at, Status.NOT_CONFIGURED))
            store.write_results(conn, results, slot=at)
        store.roll_up(conn, now)
        store.prune(conn, now, raw_days=14, rollup_days=400)
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM probe_results WHERE checked_at < %s", (now - timedelta(days=14),))
            assert cur.fetchone()[0] == 0
        with store.transaction(conn) as cur:
            for location, level, hours in ((LOCATIONS[0], "critical", 5), (LOCATIONS[1], "warning", 2)):
                since = now - timedelta(hours=hours)
                store.open_incident(cur, "roles_anywhere", location, level, since, INCIDENT_ERROR, ROOT_CAUSE)
            store.open_incident(cur, "valkey", LOCATIONS[0], "warning", now - timedelta(minutes=30), ERROR, None)
            old = store.open_incident(cur, "postgres", LOCATIONS[0], "critical", now - timedelta(days=3), ERROR, None)
            store.resolve_incident(cur, old, now - timedelta(days=2))
    finally:
        conn.close()


@pytest.fixture
def page(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """The web with the status page on and SEEDED stored; (settings, test client, seeded `now`)."""
    settings, client = build(
        {**base_env, "PROBE_INTERVAL_S": "60", "PROBE_TIMEOUT_S": "5", "STATUS_PAGE": "on"}, monkeypatch
    )
    now = utcnow()
    seed(settings, now)
    return settings, client, now


def cells(table) -> list[list[str]]:
    return [[" ".join(cell.get_text().split()) for cell in row.find_all(["th", "td"])] for row in table.tbody("tr")]


def test_off_by_default_is_404_not_the_board(base_env, monkeypatch) -> None:
    _, client = build(base_env, monkeypatch)
    response = client.get("/status")
    assert response.status_code == 404
    assert "Hybrid Integration Monitor" not in response.get_data(as_text=True)  # not Dash's catch-all page


def test_names_statuses_exact_uptimes_and_open_incidents(page) -> None:
    _, client, now = page
    response = client.get("/status")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "public, max-age=5"
    assert "Content-Security-Policy" in response.headers and response.headers["X-Frame-Options"] == "DENY"
    doc = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert doc.html["lang"] == "en" and len(doc("main")) == 1 and len(doc("h1")) == 1
    assert not doc("script")
    assert doc.select_one(".overall").get_text() == (
        "1 of 4 down: AWS IAM Roles Anywhere; 1 of 4 degraded: Valkey; 1 of 4 not monitored: AWS Secrets Manager"
    )
    services, incidents = doc("table")
    header = [th.get_text() for th in services.thead("th")]
    assert header == ["Service", "Status", "Uptime 24 h", "Uptime 30 d", "Uptime 90 d"]
    assert cells(services) == EXPECTED_ROWS
    # One row per service (the two locations' incidents merged: the earliest start, the worst level); the
    # resolved one is not there.
    rows = cells(incidents)
    assert [row[:2] for row in rows] == [["Valkey", "! Degraded"], ["AWS IAM Roles Anywhere", "✕ Down"]]
    since = {row.th.get_text(): row.time["datetime"] for row in incidents.tbody("tr")}
    assert since == {
        "Valkey": (now - timedelta(minutes=30)).isoformat(),
        "AWS IAM Roles Anywhere": (now - timedelta(hours=5)).isoformat(),
    }


def test_answered_from_memory_gzipped_when_asked_and_to_head(page) -> None:
    _, client, _ = page
    plain = client.get("/status")
    zipped = client.get("/status", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.get_data()) == plain.get_data() and "Content-Encoding" not in plain.headers
    assert int(zipped.headers["Content-Length"]) == len(zipped.get_data()) < len(plain.get_data()) / 2
    head = client.head("/status")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == plain.headers["Content-Length"]
    assert client.post("/status").status_code == 405
    assert "Content-Security-Policy" in zipped.headers and zipped.headers["X-Frame-Options"] == "DENY"


def test_all_up_says_all_services_operational(base_env, monkeypatch) -> None:
    settings, client = build({**base_env, "PROBE_INTERVAL_S": "60", "STATUS_PAGE": "1"}, monkeypatch)
    conn = store.connect(settings.postgres, 10)
    store.migrate(conn)
    now = utcnow()
    store.write_results(conn, [internal_result(s, now, Status.UP) for s in SERVICE_NAMES], slot=now)
    conn.close()
    doc = BeautifulSoup(client.get("/status").get_data(as_text=True), "html.parser")
    assert doc.select_one(".overall").get_text() == "All services operational"
    assert "No open incidents." in doc.main.get_text()


def test_no_endpoint_host_port_error_or_secret_in_any_public_body(page) -> None:
    settings, client, _ = page
    pg, vk = settings.postgres, urlsplit(settings.valkey.url())
    # Ports as they follow a host (a bare number could turn up in a time's microseconds).
    internal = [*INTERNAL, pg.host, f":{pg.port}", pg.dbname, pg.password, vk.hostname, f":{vk.port}"]
    bodies = {path: client.get(path).get_data(as_text=True) for path in ("/status", *badges())}
    assert all(body for body in bodies.values())
    leaks = {path: [s for s in internal if s and s in body] for path, body in bodies.items()}
    assert leaks == {path: [] for path in bodies}


def badges() -> list[str]:
    return [f"/badge/{service}.svg" for service in SERVICE_NAMES]


def test_badges_say_status_and_uptime_only(page) -> None:
    _, client, _ = page
    svg = client.get("/badge/roles_anywhere.svg").get_data(as_text=True)
    assert "<title>AWS IAM Roles Anywhere: down · 75.0% 24h</title>" in svg


def test_store_unreachable_is_a_503_page_saying_so_without_detail(valkey_url, monkeypatch) -> None:
    env = {"DATABASE_URL": "postgresql://monitor:hunter2secret@127.0.0.1:1/db", "VALKEY_URL": valkey_url}
    _, client = build({**env, "STATUS_PAGE": "on"}, monkeypatch)
    response = client.get("/status")
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert "temporarily unavailable" in body
    assert not [s for s in ("hunter2secret", "127.0.0.1", ":1/", "refused", "PostgreSQL: ", "Valkey: ") if s in body]


def test_store_unreachable_shows_the_cached_statuses_without_uptimes_or_incidents(valkey_url, monkeypatch) -> None:
    """PostgreSQL away, the worker's latest results in Valkey: the statuses still show."""
    env = {"DATABASE_URL": "postgresql://monitor:hunter2secret@127.0.0.1:1/db", "VALKEY_URL": valkey_url}
    settings, client = build({**env, "STATUS_PAGE": "on"}, monkeypatch)
    now = utcnow()
    latest = [internal_result(s, now, SEEDED.get(s, {}).get(DAY_AGES[0], Status.UP)) for s in SEEDED]
    valkey = buffer.client(settings.valkey, 5)
    buffer.cache_latest(valkey, [*latest, internal_result("secrets_manager", now, Status.NOT_CONFIGURED)], 60)
    valkey.close()
    response = client.get("/status")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    doc = BeautifulSoup(body, "html.parser")
    assert cells(doc.table) == [[*row[:2], "—", "—", "—"] for row in EXPECTED_ROWS]
    assert "The list of incidents is temporarily unavailable." in doc.main.get_text()
    assert not [s for s in (*INTERNAL, "hunter2secret", "127.0.0.1", "PostgreSQL: ") if s in body]


def test_cached_within_its_time_to_live_then_fresh(page, monkeypatch) -> None:
    settings, _, _ = page
    ttl_s = 1.0
    monkeypatch.setattr(status_page, "STATUS_PAGE_CACHE_S", ttl_s)  # read when the app is built
    _, client = build({"STATUS_PAGE": "on"}, monkeypatch)
    first = client.get("/status").get_data(as_text=True)
    assert cells(BeautifulSoup(first, "html.parser").table)[0][:2] == ["PostgreSQL", "✓ Operational"]
    made = time.monotonic()
    conn = store.connect(settings.postgres, 10)
    now = utcnow()
    store.write_results(conn, [internal_result("postgres", now, Status.DOWN)], slot=now)
    conn.close()
    again = client.get("/status").get_data(as_text=True)
    assert time.monotonic() - made < ttl_s, "too slow to test the cache: the page expired before it was asked"
    assert again == first
    time.sleep(ttl_s)
    fresh = client.get("/status").get_data(as_text=True)
    assert fresh != first
    assert cells(BeautifulSoup(fresh, "html.parser").table)[0][:2] == ["PostgreSQL", "✕ Down"]


def test_stylesheet_from_the_cdn_when_assets_come_from_there(base_env, monkeypatch) -> None:
    env = {**base_env, "STATUS_PAGE": "on", "ASSETS_BASE_URL": "https://cdn.example.com/monitor"}
    _, client = build(env, monkeypatch)
    response = client.get("/status")
    doc = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert doc.select_one('link[rel="stylesheet"]')["href"] == "https://cdn.example.com/monitor/assets/status.css"
    assert "style-src 'self' 'unsafe-inline' https://cdn.example.com" in response.headers["Content-Security-Policy"]
    # Nothing stored yet: every status is unknown, and said so.
    assert doc.select_one(".overall").get_text().startswith("4 of 4 status unknown: PostgreSQL, Valkey")
