"""Signing in with a real browser: headless Chromium through a real local OpenID Connect provider (and the
basic-auth form), against the app reading real stored results."""

from __future__ import annotations

import time

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashapp.auth import COOKIE
from dashapp.factory import create_app
from jobs import settings as settings_module
from jobs.result import utcnow
from tests.access_support import ALLOWED_DOMAIN, PASSWORD, USERNAME, access_env
from tests.web_support import write_cycle

WAIT_S = 15
BOARD = "#row-postgres .status-badge"


def start(dash_duo, base_env: dict[str, str], mode: str, issuer: str = ""):  # type: ignore[no-untyped-def]
    env = {**base_env, **access_env(mode, issuer), "PROBE_INTERVAL_S": "60", "PROBE_TIMEOUT_S": "5"}
    settings = settings_module.load(env)
    app = create_app(settings)  # migrates the fresh database
    write_cycle(settings, utcnow())
    dash_duo.start_server(app, navigate=False)  # its page is behind the sign-in
    return app, WebDriverWait(dash_duo.driver, WAIT_S)


def provider_signs_in(duo, wait, issuer: str, sub: str) -> None:
    """On the provider's page, sign in as `sub`."""
    wait.until(lambda d: d.current_url.startswith(issuer + "/oauth2/authorize"))
    field = duo.driver.find_element(By.NAME, "sub")
    field.send_keys(sub)
    field.submit()


def heading(duo) -> str:
    return duo.driver.execute_script("const h = document.querySelector('h1'); return h ? h.textContent : ''")


def test_oidc_sign_in_board_sign_out_and_refusals_in_a_real_browser(dash_duo, base_env, oidc_issuer) -> None:
    app, wait = start(dash_duo, base_env, "oidc", oidc_issuer)
    base, driver = dash_duo.server.url.rstrip("/"), dash_duo.driver
    for sub, email in (("ann", f"ann@{ALLOWED_DOMAIN}"), ("mallory", "mallory@evil.com")):
        requests.put(f"{oidc_issuer}/users/{sub}", json={"email": email, "email_verified": True}, timeout=10)

    # A stranger asking for the board is sent to the provider; an identity not allowed is refused.
    driver.get(base + "/")
    provider_signs_in(dash_duo, wait, oidc_issuer, "mallory")
    wait.until(lambda d: heading(dash_duo) == "Not allowed")
    assert "mallory@evil.com may not sign in here." in driver.page_source
    driver.get(base + "/api/status")
    assert '"sign-in required' in driver.page_source

    # An allowed one lands on the page it asked for, and sees the board.
    driver.get(base + "/?from=test")
    provider_signs_in(dash_duo, wait, oidc_issuer, "ann")
    wait.until(lambda d: d.current_url == base + "/?from=test")
    dash_duo.wait_for_text_to_equal(BOARD, "up", timeout=WAIT_S)
    cookie = driver.get_cookie(COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    # A return-to parameter pointing off-site leads home.
    driver.get(base + "/login?next=//evil.com/steal")
    wait.until(lambda d: d.current_url == base + "/")

    # A tampered cookie is no sign-in: back to the provider.
    driver.delete_cookie(COOKIE)
    driver.add_cookie({"name": COOKIE, "value": cookie["value"][:-3] + "xyz", "path": "/"})
    driver.get(base + "/")
    wait.until(lambda d: d.current_url.startswith(oidc_issuer))

    # So is a correctly signed one whose sign-in is older than SESSION_MAX_AGE_S.
    signer = app.server.session_interface.get_signing_serializer(app.server)
    old = signer.dumps({"user": f"ann@{ALLOWED_DOMAIN}", "at": time.time() - 13 * 3600})
    driver.get(base + "/healthz")
    driver.delete_cookie(COOKIE)
    driver.add_cookie({"name": COOKIE, "value": old, "path": "/"})
    driver.get(base + "/")
    wait.until(lambda d: d.current_url.startswith(oidc_issuer))

    # Sign in again, then out through the board's link and the sign-out page's button.
    provider_signs_in(dash_duo, wait, oidc_issuer, "ann")
    dash_duo.wait_for_text_to_equal(BOARD, "up", timeout=WAIT_S)
    driver.find_element(By.ID, "sign-out").click()
    wait.until(lambda d: heading(dash_duo) == "Sign out")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: heading(dash_duo) == "Signed out")
    driver.get(base + "/api/status")
    assert '"sign-in required' in driver.page_source


@pytest.mark.parametrize("password", ["wrong-password-1", PASSWORD])
def test_basic_sign_in_form_in_a_real_browser(dash_duo, base_env, password: str) -> None:
    _, wait = start(dash_duo, base_env, "basic")
    driver = dash_duo.driver
    driver.get(dash_duo.server.url.rstrip("/") + "/")
    wait.until(lambda d: heading(dash_duo) == "Sign in")
    driver.find_element(By.ID, "username").send_keys(USERNAME)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    if password == PASSWORD:
        dash_duo.wait_for_text_to_equal(BOARD, "up", timeout=WAIT_S)
    else:
        wait.until(lambda d: "Wrong username or password." in d.page_source)
        assert heading(dash_duo) == "Sign in"
