"""Access settings: AUTH_MODE and what each mode needs; a one-line error naming the variable, never a secret."""

from __future__ import annotations

import pytest

from jobs.settings import SettingsError, load

SECRET = "session-secret-0123456789-abcdefghij-klmn"
CLIENT_SECRET = "client-secret-9f8e7d6c5b4a"
HASH = "scrypt:32768:8:1$salt$0123abcd"
BASIC = {"AUTH_MODE": "basic", "SESSION_SECRET": SECRET, "AUTH_BASIC_USERNAME": "ops", "AUTH_BASIC_PASSWORD_HASH": HASH}
OIDC = {
    "AUTH_MODE": "oidc",
    "SESSION_SECRET": SECRET,
    "OIDC_ISSUER": "https://accounts.google.com/",
    "OIDC_CLIENT_ID": "monitor",
    "OIDC_CLIENT_SECRET": CLIENT_SECRET,
    "AUTH_ALLOWED_DOMAINS": "Example.com",
}


def test_mode_none_is_the_default_and_needs_nothing() -> None:
    access = load({}).access
    assert (access.mode, access.signs_in, access.session_secret) == ("none", False, None)
    assert access.session_max_age_s == 43200


def test_basic_and_oidc_read_what_they_need() -> None:
    basic = load(BASIC).access
    assert (basic.mode, basic.basic_username, basic.basic_password_hash) == ("basic", "ops", HASH)
    lists = {"AUTH_ALLOWED_EMAILS": "Ann@Example.org, bob@example.org", "AUTH_ALLOWED_GROUPS": "Ops"}
    oidc = load({**OIDC, **lists}).access
    assert oidc.oidc_issuer == "https://accounts.google.com"
    assert oidc.allowed_domains == {"example.com"} and oidc.allowed_emails == {"ann@example.org", "bob@example.org"}
    assert oidc.allowed_groups == {"Ops"}
    # Every secret is scrubbed from messages and kept out of repr.
    settings = load({**OIDC, "API_TOKEN": "t" * 24, "METRICS_TOKEN": "m" * 24})
    assert {SECRET, CLIENT_SECRET, "t" * 24, "m" * 24} <= set(settings.secrets())
    assert SECRET not in repr(settings) and CLIENT_SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"AUTH_MODE": "ldap"}, "AUTH_MODE"),
        ({**BASIC, "SESSION_SECRET": ""}, "SESSION_SECRET"),
        ({**BASIC, "SESSION_SECRET": "short-secret-value"}, "SESSION_SECRET"),
        ({**BASIC, "AUTH_BASIC_USERNAME": ""}, "AUTH_BASIC_USERNAME"),
        ({**BASIC, "AUTH_BASIC_PASSWORD_HASH": "plain-text-password"}, "AUTH_BASIC_PASSWORD_HASH"),
        ({**BASIC, "SESSION_MAX_AGE_S": "10"}, "SESSION_MAX_AGE_S"),
        ({**BASIC, "API_TOKEN": "short-token"}, "API_TOKEN"),
        ({"METRICS_TOKEN": "short-token"}, "METRICS_TOKEN"),
        ({**OIDC, "OIDC_ISSUER": ""}, "OIDC_ISSUER"),
        ({**OIDC, "OIDC_ISSUER": "http://idp.example.com"}, "OIDC_ISSUER"),
        ({**OIDC, "OIDC_ISSUER": "accounts.google.com"}, "OIDC_ISSUER"),
        ({**OIDC, "OIDC_CLIENT_SECRET": ""}, "OIDC_CLIENT_SECRET"),
        ({**OIDC, "AUTH_ALLOWED_DOMAINS": ""}, "AUTH_ALLOWED_EMAILS"),
        ({**OIDC, "AUTH_ALLOWED_DOMAINS": "@example.com"}, "AUTH_ALLOWED_DOMAINS"),
        ({**OIDC, "AUTH_ALLOWED_EMAILS": "not-an-address"}, "AUTH_ALLOWED_EMAILS"),
    ],
)
def test_a_wrong_access_setting_is_one_line_naming_the_variable_without_the_secret(
    env: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load(env)
    message = str(caught.value)
    assert message.startswith(f"{variable}: ") and "\n" not in message
    for secret in ("short-secret-value", "plain-text-password", "short-token", SECRET, CLIENT_SECRET):
        assert secret not in message


def test_http_issuer_only_on_this_machine() -> None:
    assert load({**OIDC, "OIDC_ISSUER": "http://localhost:9400"}).access.oidc_issuer == "http://localhost:9400"
    assert load({**OIDC, "OIDC_ISSUER": "http://127.0.0.1:9400/"}).access.oidc_issuer == "http://127.0.0.1:9400"
