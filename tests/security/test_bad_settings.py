"""Bad settings: a one-line error naming the variable, and a web that still starts and says `not configured`.

tests/test_settings.py checks each known malformed value; here hypothesis throws arbitrary text at every
variable, and the real web (gunicorn with the Procfile's command, and the app factory) runs with bad settings.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashapp.factory import create_app
from jobs import settings as settings_module
from jobs.result import SERVICE_NAMES, Status, utcnow
from jobs.settings import SettingsError
from sandbox.embedded import free_port
from tests.security.procfile import Process, fetch, fetch_json
from tests.stack_support import wait_until
from tests.test_settings import AWS, _cert_and_key
from tests.web_support import write_cycle

SECRET = "pw-never-shown-7f3a"
GENERAL = (
    "PROBE_INTERVAL_S",
    "PROBE_TIMEOUT_S",
    "DASH_REFRESH_S",
    "PORT",
    "LOG_LEVEL",
    "PROBE_LOCATION",
    "ASSETS_BASE_URL",
    "RAW_RETENTION_DAYS",
    "ROLLUP_RETENTION_DAYS",
    "RQ_DASHBOARD_USERNAME",
    "WEB_CONCURRENCY",
    "BIND_HOST",
    "AUTH_MODE",
    "SESSION_SECRET",
    "SESSION_MAX_AGE_S",
    "API_TOKEN",
    "METRICS_TOKEN",
    "ALERT_REMINDER_S",
    "MAINTENANCE_WINDOWS",
    "ORIGIN_SECRET",
    "TRUSTED_PROXY_HOPS",
)
# Read only when operators sign in (AUTH_MODE basic or oidc): fuzzed over SIGN_IN's settings.
ACCESS = (
    "AUTH_MODE",
    "SESSION_SECRET",
    "AUTH_BASIC_USERNAME",
    "AUTH_BASIC_PASSWORD_HASH",
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "AUTH_ALLOWED_EMAILS",
    "AUTH_ALLOWED_DOMAINS",
    "AUTH_ALLOWED_GROUPS",
)
SERVICE = (
    "DATABASE_URL",
    "PGPORT",
    "PGSSLMODE",
    "DATABASE_CA_CERT",
    "PGSSLROOTCERT",
    "VALKEY_CA_CERT",
    "VALKEY_URL",
    "VALKEY_PORT",
    "VALKEY_TLS",
    "AWS_REGION",
    "IAM_TRUST_ANCHOR_ARN",
    "IAM_PROFILE_ARN",
    "IAM_ROLE_ARN",
    "IAM_CLIENT_CERT",
    "IAM_CLIENT_CHAIN",
    "IAM_CLIENT_KEY",
    "AWS_ENDPOINT_URL_ROLESANYWHERE",
    "AWS_ENDPOINT_URL_STS",
    "AWS_CA_BUNDLE",
    "CERT_WARN_DAYS",
    "SECRETS_MANAGER_WRITE",
)
# Environment values cannot hold NUL; anything else goes, including URL-ish and PEM-ish shapes.
TEXT = st.text(st.characters(exclude_characters="\x00"), max_size=80)
# (value, whether the value holds SECRET as a password that must never be shown)
VALUES = st.one_of(
    TEXT.map(lambda t: (t, False)),
    TEXT.map(lambda t: (f"postgresql://u:{SECRET}@{t}/db", True)),
    TEXT.map(lambda t: (f"redis://:{SECRET}@{t}", True)),
    TEXT.map(lambda t: (f"-----BEGIN PRIVATE KEY-----\n{t}\n-----END PRIVATE KEY-----\n", False)),
    TEXT.map(
        lambda t: (
            base64.b64encode(f"-----BEGIN CERTIFICATE-----\n{t}".encode("utf-8", "surrogatepass")).decode(),
            False,
        )
    ),
)
BASE = {
    **AWS,
    "PGHOST": "db.example",
    "PGPASSWORD": SECRET,
    "VALKEY_HOST": "cache.example",
    "VALKEY_PASSWORD": SECRET,
}
SIGN_IN = {
    **BASE,
    "AUTH_MODE": "oidc",
    "SESSION_SECRET": SECRET * 3,
    "OIDC_ISSUER": "https://idp.example",
    "OIDC_CLIENT_ID": "monitor",
    "OIDC_CLIENT_SECRET": SECRET,
    "AUTH_ALLOWED_DOMAINS": "example.com",
    "AUTH_BASIC_USERNAME": "ops",
    "AUTH_BASIC_PASSWORD_HASH": "scrypt:32768:8:1$salt$hash",
}


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(GENERAL + SERVICE), drawn=VALUES)
# os.environ holds bytes that are not UTF-8 as lone surrogates.
@example(name="IAM_CLIENT_KEY", drawn=("-----BEGIN PRIVATE KEY-----\udc80", False))
@example(name="DATABASE_URL", drawn=("postgresql://u:p@h\udcff/db", False))
# Errors another variable reports, caused by the one changed: each must name the one changed.
@example(name="DATABASE_URL", drawn=("postgresql://u@h/db?sslmode=always", False))
@example(name="PROBE_INTERVAL_S", drawn=("5", False))
@example(name="RAW_RETENTION_DAYS", drawn=("500", False))
@example(name="RQ_DASHBOARD_USERNAME", drawn=("ops", False))
def test_any_value_of_any_setting_is_accepted_or_a_one_line_error_naming_a_variable(
    name: str, drawn: tuple[str, bool]
) -> None:
    value, holds_password = drawn
    env = {**BASE, name: value}
    try:
        loaded = settings_module.load(env)
    except SettingsError as exc:
        messages = [str(exc)]
        assert name in GENERAL or name == "PORT", f"{name} is a service setting: it must not stop the process"
    else:
        messages = list(loaded.problems.values())
    for message in messages:
        assert "\n" not in message and len(message) < 400, message
        # It names the variable that was changed (first, or as the cause of another's error).
        assert name in message, f"does not name {name}: {message!r}"
        assert message.split(":", 1)[0].isupper(), f"does not start with a variable's name: {message!r}"
        # The passwords in BASE and in the URLs never show (a message may echo a plain wrong value, whatever it is).
        if holds_password or SECRET not in value:
            assert SECRET not in message


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(ACCESS), drawn=VALUES, mode=st.sampled_from(["oidc", "basic"]))
@example(name="AUTH_ALLOWED_DOMAINS", drawn=("", False), mode="oidc")
@example(name="OIDC_CLIENT_SECRET", drawn=("", False), mode="oidc")
def test_any_value_of_a_sign_in_setting_is_accepted_or_a_one_line_error_without_a_secret(
    name: str, drawn: tuple[str, bool], mode: str
) -> None:
    value, _ = drawn
    env = {**SIGN_IN, "AUTH_MODE": mode, name: value}
    try:
        settings_module.load(env)
    except SettingsError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 400, message
        assert message.split(":", 1)[0].isupper(), f"does not start with a variable's name: {message!r}"
        if name != "AUTH_MODE":
            assert name in message, f"does not name {name}: {message!r}"
        # The client secret and session secret never show, nor the one changed when it is a secret.
        assert SECRET not in message or (name not in ("SESSION_SECRET", "OIDC_CLIENT_SECRET") and SECRET in value)
        if name in ("SESSION_SECRET", "OIDC_CLIENT_SECRET", "AUTH_BASIC_PASSWORD_HASH") and len(value.strip()) > 3:
            assert value.strip() not in message


def _services(status_body: dict) -> dict[str, dict]:
    services = {s["service"]: s for s in status_body["services"]}
    assert list(services) == list(SERVICE_NAMES)
    return services


def test_web_with_a_bad_database_port_and_a_malformed_key_starts_and_says_not_configured(valkey_url, tmp_path) -> None:
    """The real web process (Procfile command, gunicorn) with the store's URL and the AWS key both wrong."""
    port = free_port()
    env = {
        **AWS,
        "IAM_CLIENT_KEY": base64.b64encode(
            b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
        ).decode(),
        "DATABASE_URL": f"postgresql://monitor:{SECRET}@127.0.0.1:99999/monitor",
        "VALKEY_URL": valkey_url,
        "PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
    }
    web = Process("web", env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: fetch(base + "/healthz")[0] == 200, 60, "/healthz")
        status, body = fetch_json(base + "/api/status")
        assert status == 200, body
        services = _services(body)
        assert services["postgres"]["status"] == "not_configured"
        assert services["postgres"]["reason"].startswith("DATABASE_URL: ")
        for aws in ("roles_anywhere", "secrets_manager"):
            assert services[aws]["status"] == "not_configured"
            assert services[aws]["reason"].startswith("IAM_CLIENT_KEY: ")
        # Valkey is configured, but with no store there is no result to show; the row says why.
        assert services["valkey"]["status"] == "stale"
        assert "results store is not configured (DATABASE_URL: " in services["valkey"]["reason"]
        ready_status, ready = fetch_json(base + "/readyz")
        assert ready_status == 503 and ready == {"status": "not ready"}
        assert fetch(base + "/")[0] == 200
        for path in ("/metrics", "/badge/postgres.svg"):
            assert fetch(base + path)[0] == 200, path
        # No store, no history: 503 (not 500), saying which setting is wrong.
        history_status, history = fetch_json(base + "/api/history?service=valkey&range=1h")
        assert history_status == 503 and "PostgreSQL: DATABASE_URL: " in history["error"]
    finally:
        web.stop()
    output = "\n".join(web.output().values())
    assert "Traceback" not in output, output
    assert SECRET not in output


# (what is wrong, the setting, the service row it makes `not configured`)
BAD = {
    "bad_database_url": ({"DATABASE_URL": "mysql://u:pw@127.0.0.1/db"}, "DATABASE_URL", "postgres"),
    "bad_database_port": ({"DATABASE_URL": "postgresql://u:pw@127.0.0.1:5x5/db"}, "DATABASE_URL", "postgres"),
    "bad_valkey_url": ({"VALKEY_URL": "http://127.0.0.1:6379"}, "VALKEY_URL", "valkey"),
    "bad_valkey_port": ({"VALKEY_URL": "redis://127.0.0.1:70000"}, "VALKEY_URL", "valkey"),
    "malformed_pem": (
        {**AWS, "IAM_CLIENT_CERT": "-----BEGIN CERTIFICATE-----\nxx\n"},
        "IAM_CLIENT_CERT",
        "roles_anywhere",
    ),
    "key_not_matching_certificate": (
        {**AWS, "IAM_CLIENT_KEY": base64.b64encode(_cert_and_key()[1]).decode()},
        "IAM_CLIENT_KEY",
        "secrets_manager",
    ),
    "unknown_region": ({**AWS, "AWS_REGION": "moon-1"}, "AWS_REGION", "roles_anywhere"),
    "missing_secret_name": (
        {**AWS, "SECRETS_MANAGER_SECRET_NAME": ""},
        "SECRETS_MANAGER_SECRET_NAME",
        "roles_anywhere",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_web_shows_a_service_with_a_bad_setting_as_not_configured_with_the_reason(
    case: str, base_env: dict[str, str]
) -> None:
    bad, variable, service = BAD[case]
    loaded = settings_module.load({**base_env, **bad})
    client = create_app(loaded).server.test_client()
    response = client.get("/api/status")
    assert response.status_code == 200
    row = _services(response.get_json())[service]
    assert row["status"] == "not_configured"
    assert row["reason"].startswith(f"{variable}: ") and "\n" not in row["reason"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 200


def test_a_stored_result_wins_over_the_webs_own_not_configured(base_env: dict[str, str]) -> None:
    """The worker holds the AWS settings (app.yaml gives them to it alone): what it stored is what counts."""
    loaded = settings_module.load({**base_env, **AWS, "AWS_REGION": "moon-1"})
    assert loaded.problems["roles_anywhere"].startswith("AWS_REGION: ")
    client = create_app(loaded).server.test_client()
    write_cycle(loaded, utcnow(), dict.fromkeys(SERVICE_NAMES, Status.UP))
    services = _services(client.get("/api/status").get_json())
    assert {s["status"] for s in services.values()} == {"up"}
