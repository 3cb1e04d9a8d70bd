"""The board's alerting parts as the callbacks build them from a real PostgreSQL with stored incidents: the
summary line, the open and ended incidents, the shaded chart periods, each row's strip of checks."""

from __future__ import annotations

import pytest

from dashapp.callbacks import board_outputs, chart_outputs
from dashapp.factory import create_app
from dashapp.reader import Reader
from jobs import settings as settings_module
from jobs.result import SERVICE_NAMES, utcnow
from tests.test_web_views import text_of
from tests.web_support import seed_history, seed_incidents


@pytest.fixture
def board(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    for name, value in {**base_env, "PROBE_INTERVAL_S": "60"}.items():
        monkeypatch.setenv(name, value)
    settings = settings_module.load()
    now = utcnow()
    seed_history(settings, now)
    seed_incidents(settings, now)
    reader = Reader(settings)
    yield reader, settings
    reader.close()


def test_summary_incidents_and_strips_from_the_stored_incidents(board) -> None:
    reader, settings = board
    rows, _summary, headline, look, incidents, *_rest = board_outputs(reader, settings)
    # Seeded: PostgreSQL up, Valkey degraded, Roles Anywhere down, Secrets Manager not configured.
    assert headline == (
        "1 of 4 down: AWS IAM Roles Anywhere, 12 min · 1 of 4 degraded: Valkey"
        " · 1 of 4 not configured: AWS Secrets Manager"
    )
    assert "border-danger" in look
    text = text_of(incidents)
    opened, ended = text.split("Ended in the last 30 days")
    assert opened.index("AWS IAM Roles Anywhere") < opened.index("AWS Secrets Manager")
    assert "caused by AWS IAM Roles Anywhere" in opened and "first error: no AWS credentials" in opened
    assert "Valkey" in ended and "1 h 30 min" in ended and "slow" in ended
    assert "gone" not in text  # ended 40 days ago
    # Every 7th seeded check was down, and Roles Anywhere's latest one too.
    strips = [text_of(row.children[6]).strip() for row in rows]
    assert strips[0] == "last 20 checks: 17 up, 3 not up" and strips[2] == "last 20 checks: 16 up, 4 not up"


def test_charts_shade_the_stored_incidents_of_their_range(board) -> None:
    reader, _ = board
    figures = dict(zip(SERVICE_NAMES, chart_outputs(reader, "1h")[: len(SERVICE_NAMES)], strict=True))
    assert [s.label.text for s in figures["roles_anywhere"].layout.shapes] == ["down, open"]
    assert [s.label.text for s in figures["secrets_manager"].layout.shapes] == ["down, open"]
    assert not figures["valkey"].layout.shapes and not figures["postgres"].layout.shapes
    week = dict(zip(SERVICE_NAMES, chart_outputs(reader, "7d")[: len(SERVICE_NAMES)], strict=True))
    assert [s.label.text for s in week["valkey"].layout.shapes] == ["degraded incident"]


def ids_in(component) -> set[str]:
    """Every component id in a Dash tree."""
    if isinstance(component, list | tuple):
        return set().union(*map(ids_in, component)) if component else set()
    if not hasattr(component, "children"):
        return set()
    own = {component.id} if isinstance(getattr(component, "id", None), str) else set()
    return own | ids_in(component.children)


def test_board_says_alerting_is_off_until_alert_urls_is_set(base_env, monkeypatch) -> None:
    for name, value in base_env.items():
        monkeypatch.setenv(name, value)
    page = create_app(settings_module.load(), migrate=False).layout
    assert "alerting-off" in ids_in(page) and "ALERT_URLS" in text_of(page)
    monkeypatch.setenv("ALERT_URLS", "json://127.0.0.1:9/hook")
    page = create_app(settings_module.load(), migrate=False).layout
    assert "alerting-off" not in ids_in(page) and "headline" in ids_in(page)
