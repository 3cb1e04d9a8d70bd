"""Settings: every accepted form, and a one-line error naming the variable for each wrong one."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jobs.settings import SettingsError, load
from jobs.settings.parse import aws_endpoint_url
from tests.conftest import ROOT

SECRET = "s3cr3t-pass-word"


def _cert_and_key() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=10))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


CERT, KEY = _cert_and_key()
AWS = {
    "AWS_REGION": "eu-west-1",
    "IAM_TRUST_ANCHOR_ARN": "arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/0b7a3c1e-1111-2222",
    "IAM_PROFILE_ARN": "arn:aws:rolesanywhere:eu-west-1:123456789012:profile/5c1f2a3b-1111-2222-3333-444455556666",
    "IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/hybrid-monitor-probe",
    "IAM_CLIENT_CERT": base64.b64encode(CERT).decode(),
    "IAM_CLIENT_KEY": base64.b64encode(KEY).decode(),
    "SECRETS_MANAGER_SECRET_NAME": "hybrid-monitor/probe",
}


def test_nothing_set_leaves_every_service_unconfigured_with_defaults() -> None:
    s = load({})
    assert (s.postgres, s.valkey, s.aws) == (None, None, None)
    assert s.problems == {}
    assert (s.probe_interval_s, s.probe_timeout_s, s.dash_refresh_s, s.port) == (60, 10.0, 30, 8050)


def test_database_url_and_libpq_names_give_the_same_settings() -> None:
    url = load({"DATABASE_URL": "postgresql://probe:pw%2F1@db.example:25060/defaultdb?sslmode=require"}).postgres
    libpq = load(
        {
            "PGHOST": "db.example",
            "PGPORT": "25060",
            "PGUSER": "probe",
            "PGPASSWORD": "pw/1",
            "PGDATABASE": "defaultdb",
            "PGSSLMODE": "require",
        }
    ).postgres
    assert url == libpq
    assert url is not None and url.endpoint == "db.example:25060" and url.password == "pw/1"


def test_valkey_url_tls_and_host_form() -> None:
    tls = load({"VALKEY_URL": "rediss://default:pw@valkey.example:25061"}).valkey
    assert tls is not None and tls.tls and tls.endpoint == "valkey.example:25061"
    plain = load({"VALKEY_HOST": "cache.example", "VALKEY_PORT": "6380", "VALKEY_PASSWORD": "pw"}).valkey
    assert plain is not None and plain.tls, "the host form defaults to TLS, as managed Valkey requires"
    assert plain.url().startswith("rediss://:pw@cache.example:6380")


def test_aws_settings_accept_base64_pem_and_check_the_key_matches() -> None:
    aws = load(AWS).aws
    assert aws is not None and aws.certificate_pem == CERT and aws.private_key_pem == KEY
    assert "PRIVATE" not in repr(aws), "the private key must never appear in a repr"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PROBE_INTERVAL_S": "soon"}, "PROBE_INTERVAL_S"),
        ({"PROBE_INTERVAL_S": "0"}, "PROBE_INTERVAL_S"),
        ({"PROBE_TIMEOUT_S": "90"}, "PROBE_TIMEOUT_S"),
        ({"PORT": "99999"}, "PORT"),
        ({"DASH_REFRESH_S": "-1"}, "DASH_REFRESH_S"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"PROBE_LOCATION": "two words"}, "PROBE_LOCATION"),
        ({"PROBE_LOCATIONS": "fra1,ny c3!"}, "PROBE_LOCATIONS"),
        ({"PROBE_LOCATIONS": "fra1,fra1"}, "PROBE_LOCATIONS"),
        ({"PROBE_LOCATIONS": "fra1,nyc3", "PROBE_LOCATION": "sfo2"}, "PROBE_LOCATION"),
        ({"RQ_DASHBOARD_USERNAME": "ops"}, "RQ_DASHBOARD_PASSWORD"),
        ({"ASSETS_BASE_URL": "ftp://cdn"}, "ASSETS_BASE_URL"),
        ({"STATUS_PAGE": "public"}, "STATUS_PAGE"),
        ({"RQ_DASHBOARD_USERNAME": "ops", "RQ_DASHBOARD_PASSWORD": "fifteen-chars-x"}, "RQ_DASHBOARD_PASSWORD"),
        ({"ORIGIN_SECRET": "too-short-a-secret"}, "ORIGIN_SECRET"),
        ({"ORIGIN_SECRET": "a secret with blanks, commas and more than 32"}, "ORIGIN_SECRET"),
        ({"ORIGIN_SECRET": "é" * 40}, "ORIGIN_SECRET"),
        ({"TRUSTED_PROXY_HOPS": "6"}, "TRUSTED_PROXY_HOPS"),
        ({"TRUSTED_PROXY_HOPS": "two"}, "TRUSTED_PROXY_HOPS"),
        ({"TRUSTED_PROXY_HOPS": "2"}, "TRUSTED_PROXY_HOPS"),
    ],
)
def test_a_wrong_general_setting_is_one_line_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load(env)
    message = str(raised.value)
    assert message.startswith(f"{variable}:") and "\n" not in message


@pytest.mark.parametrize(
    ("env", "service", "variable"),
    [
        ({"DATABASE_URL": "mysql://u:" + SECRET + "@h/db"}, "postgres", "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://u:" + SECRET + "@h:notaport/db"}, "postgres", "DATABASE_URL"),
        ({"PGHOST": "h", "PGPORT": "5o432", "PGPASSWORD": SECRET}, "postgres", "PGPORT"),
        ({"PGHOST": "h", "PGPORT": "\u00b2", "PGPASSWORD": SECRET}, "postgres", "PGPORT"),  # a digit int() refuses
        ({"VALKEY_URL": "redis://h:6379/\u00b2"}, "valkey", "VALKEY_URL"),
        ({"PGHOST": "h", "PGSSLMODE": "always", "PGPASSWORD": SECRET}, "postgres", "PGSSLMODE"),
        ({"DATABASE_URL": f"postgresql://u:{SECRET}@h/db?sslmode=always"}, "postgres", "DATABASE_URL"),
        ({"VALKEY_URL": "http://:" + SECRET + "@h:6379"}, "valkey", "VALKEY_URL"),
        ({"VALKEY_HOST": "h", "VALKEY_PORT": "0", "VALKEY_PASSWORD": SECRET}, "valkey", "VALKEY_PORT"),
        ({"PGHOST": "h", "DATABASE_CA_CERT": "not a certificate"}, "postgres", "DATABASE_CA_CERT"),
        ({"PGHOST": "h", "DATABASE_CA_CERT": KEY.decode()}, "postgres", "DATABASE_CA_CERT"),
        (
            {"PGHOST": "h", "DATABASE_CA_CERT": CERT.decode(), "PGSSLROOTCERT": "/ca.pem"},
            "postgres",
            "DATABASE_CA_CERT",
        ),
        (
            {"VALKEY_URL": f"rediss://:{SECRET}@h", "VALKEY_CA_CERT": "-----BEGIN CERTIFICATE-----"},
            "valkey",
            "VALKEY_CA_CERT",
        ),
        ({"VALKEY_URL": f"redis://:{SECRET}@h", "VALKEY_CA_CERT": CERT.decode()}, "valkey", "VALKEY_CA_CERT"),
        ({"VALKEY_HOST": "h", "VALKEY_TLS": "off", "VALKEY_CA_CERT": CERT.decode()}, "valkey", "VALKEY_CA_CERT"),
        ({**AWS, "AWS_REGION": "mars-north-1a"}, "roles_anywhere", "AWS_REGION"),
        ({**AWS, "IAM_ROLE_ARN": "role/probe"}, "roles_anywhere", "IAM_ROLE_ARN"),
        ({**AWS, "IAM_CLIENT_CERT": "not base64!"}, "roles_anywhere", "IAM_CLIENT_CERT"),
        ({**AWS, "IAM_CLIENT_CERT": base64.b64encode(b"hello").decode()}, "roles_anywhere", "IAM_CLIENT_CERT"),
        ({**AWS, "IAM_CLIENT_KEY": base64.b64encode(_cert_and_key()[1]).decode()}, "secrets_manager", "IAM_CLIENT_KEY"),
        ({**AWS, "SECRETS_MANAGER_SECRET_NAME": ""}, "secrets_manager", "SECRETS_MANAGER_SECRET_NAME"),
        (
            {**AWS, "AWS_ENDPOINT_URL_ROLESANYWHERE": "http://127.0.0.1:1"},
            "roles_anywhere",
            "AWS_ENDPOINT_URL_ROLESANYWHERE",
        ),
    ],
)
def test_a_wrong_service_setting_leaves_that_service_unconfigured_with_the_reason(
    env: dict[str, str], service: str, variable: str
) -> None:
    s = load(env)
    reason = s.problems[service]
    assert reason.startswith(f"{variable}:") and "\n" not in reason
    assert SECRET not in reason
    assert getattr(s, "aws" if service in ("roles_anywhere", "secrets_manager") else service) is None


def test_a_settings_error_at_the_command_line_is_one_line_without_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "sandbox.stack"],
        env={"PATH": "/usr/bin:/bin", "PROBE_TIMEOUT_S": "fast"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "make run: PROBE_TIMEOUT_S: expected a number of seconds from 0.1 to 300, got 'fast'"
    ]


def test_endpoint_of_names_what_each_probe_talks_to() -> None:
    s = load(
        {
            **AWS,
            "DATABASE_URL": "postgresql://u:p@db.example:25060/d",
            "VALKEY_URL": "rediss://u:p@cache.example:25061",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:4566",
        }
    )
    assert [s.endpoint_of(service) for service in ("postgres", "valkey", "roles_anywhere", "secrets_manager")] == [
        "db.example:25060",
        "cache.example:25061",
        "rolesanywhere.eu-west-1.amazonaws.com",
        "127.0.0.1:4566",
    ]
    assert load({}).endpoint_of("postgres") == ""


def test_libpq_names_fall_back_to_libpqs_defaults_and_sslmode_prefer() -> None:
    pg = load({"PGHOST": "db.example"}).postgres
    assert pg is not None
    assert (pg.host, pg.port, pg.user, pg.dbname, pg.sslmode, pg.password) == (
        "db.example",
        5432,
        "postgres",
        "postgres",
        "prefer",
        None,
    )
    url = load({"DATABASE_URL": "postgresql://db.example"}).postgres
    assert url is not None and (url.port, url.user, url.dbname, url.sslmode) == (5432, "postgres", "postgres", "prefer")
    # PGSSLMODE applies to a DATABASE_URL without its own sslmode; the URL's own wins.
    assert load({"DATABASE_URL": "postgresql://h/d", "PGSSLMODE": "verify-full"}).postgres.sslmode == "verify-full"
    assert load({"DATABASE_URL": "postgresql://h/d?sslmode=disable", "PGSSLMODE": "require"}).postgres.sslmode == (
        "disable"
    )


@pytest.mark.parametrize(
    ("given", "ca", "sslmode"),
    [
        (None, None, "prefer"),
        (None, "DATABASE_CA_CERT", "verify-full"),
        (None, "PGSSLROOTCERT", "verify-full"),
        # DigitalOcean's bound DATABASE_URL says require: a CA given makes it verify the server's name too.
        ("require", "DATABASE_CA_CERT", "verify-full"),
        ("verify-ca", "DATABASE_CA_CERT", "verify-ca"),
        ("disable", "DATABASE_CA_CERT", "disable"),
        ("require", None, "require"),
    ],
)
def test_a_ca_given_makes_postgres_verify_full_unless_another_mode_is_asked(
    given: str | None, ca: str | None, sslmode: str
) -> None:
    ca_env = {ca: {"DATABASE_CA_CERT": CERT.decode(), "PGSSLROOTCERT": "/etc/ca.pem"}[ca]} if ca else {}
    libpq_names = {"PGHOST": "db.example"} | ({"PGSSLMODE": given} if given else {})
    url = {"DATABASE_URL": "postgresql://db.example/d" + (f"?sslmode={given}" if given else "")}
    for env in (libpq_names, url):
        pg = load(env | ca_env).postgres
        assert pg is not None and pg.sslmode == sslmode
        assert pg.ca_setting == (ca or "DATABASE_CA_CERT")


def test_ca_certificates_are_kept_as_pem_text() -> None:
    pg = load({"PGHOST": "h", "DATABASE_CA_CERT": f"  {CERT.decode()}  "}).postgres
    vk = load({"VALKEY_URL": "rediss://h", "VALKEY_CA_CERT": CERT.decode()}).valkey
    assert pg is not None and pg.ca_cert == CERT.decode() and pg.ca_file is None
    assert vk is not None and vk.ca_cert == CERT.decode()
    assert CERT.decode() not in repr(pg) + repr(vk)  # long and never useful in a log line


@pytest.mark.parametrize(("given", "tls", "scheme"), [(None, True, "rediss://"), ("false", False, "redis://")])
def test_valkey_tls_of_the_host_form(given: str | None, tls: bool, scheme: str) -> None:
    env = {"VALKEY_HOST": "cache.example"} | ({"VALKEY_TLS": given} if given else {})
    valkey = load(env).valkey
    assert valkey is not None and valkey.tls is tls and valkey.port == 6379
    assert valkey.url().startswith(scheme + "cache.example:6379")


def test_aws_default_region_is_read_when_aws_region_is_unset() -> None:
    without = {name: value for name, value in AWS.items() if name != "AWS_REGION"}
    assert load({**without, "AWS_DEFAULT_REGION": "ap-south-1"}).aws.region == "ap-south-1"
    assert load({**AWS, "AWS_DEFAULT_REGION": "ap-south-1"}).aws.region == "eu-west-1", "AWS_REGION wins"
    assert load(without).problems["roles_anywhere"].startswith("AWS_REGION: ")


@pytest.mark.parametrize(
    ("env", "location", "locations"),
    [
        ({}, "local", ("local",)),
        ({"PROBE_LOCATION": "fra1"}, "fra1", ("fra1",)),
        ({"PROBE_LOCATIONS": "fra1, nyc3"}, "fra1", ("fra1", "nyc3")),
        ({"PROBE_LOCATIONS": "fra1 nyc3", "PROBE_LOCATION": "nyc3"}, "nyc3", ("fra1", "nyc3")),
    ],
)
def test_probe_locations_default_to_this_location_alone(
    env: dict[str, str], location: str, locations: tuple[str, ...]
) -> None:
    settings = load(env)
    assert (settings.location, settings.locations) == (location, locations)


def test_retention_and_log_level_defaults_and_values() -> None:
    defaults = load({})
    assert (defaults.raw_retention_days, defaults.rollup_retention_days, defaults.log_level) == (14, 400, "INFO")
    given = load({"RAW_RETENTION_DAYS": "30", "ROLLUP_RETENTION_DAYS": "90", "LOG_LEVEL": "warning"})
    assert (given.raw_retention_days, given.rollup_retention_days, given.log_level) == (30, 90, "WARNING")
    # Rollups are never kept shorter than the raw results they summarise.
    assert load({"RAW_RETENTION_DAYS": "500"}).rollup_retention_days == 500
    with pytest.raises(
        SettingsError, match=r"^ROLLUP_RETENTION_DAYS: expected a whole number from 30 to 3650, got 20$"
    ):
        load({"RAW_RETENTION_DAYS": "30", "ROLLUP_RETENTION_DAYS": "20"})


@pytest.mark.parametrize(("given", "on"), [(None, False), ("on", True), ("off", False), ("1", True)])
def test_status_page_is_off_unless_turned_on(given: str | None, on: bool) -> None:
    assert load({"STATUS_PAGE": given} if given else {}).status_page is on


@pytest.mark.parametrize(("level", "logged"), [(None, True), ("WARNING", False)])
def test_log_level_sets_what_a_process_logs(db_url: str, level: str | None, logged: bool) -> None:
    """`python -m jobs run-once` logs each slot's results at INFO: shown by default, not at WARNING."""
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": db_url} | ({"LOG_LEVEL": level} if level else {})
    done = subprocess.run(
        [sys.executable, "-m", "jobs", "run-once"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert "stored for slot " in done.stdout, done.stdout + done.stderr
    assert (" INFO jobs.cycle: slot " in done.stderr) is logged, done.stderr


@pytest.mark.parametrize(
    ("env", "accepted"),
    [
        ({"RQ_DASHBOARD_USERNAME": "ops", "RQ_DASHBOARD_PASSWORD": "short-secret-7a"}, "at least 16 characters"),
        ({"ORIGIN_SECRET": "short-secret-7a"}, "at least 32 random characters"),
        ({"ORIGIN_SECRET": "short-secret-7a," * 3}, "letters, digits and - _ . ~ + / = only"),
    ],
)
def test_a_weak_secret_is_refused_without_showing_it(env: dict[str, str], accepted: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load(env)
    assert accepted in str(raised.value) and "short-secret-7a" not in str(raised.value)


def test_edge_settings_default_to_no_lock_and_no_trusted_proxy() -> None:
    edge = load({}).edge
    assert (edge.origin_secret, edge.trusted_proxy_hops) == (None, 0)
    secret = "Ab3" * 11
    with pytest.raises(SettingsError) as unlocked:  # past no lock, a client writes the entries believed
        load({"TRUSTED_PROXY_HOPS": "2"})
    assert str(unlocked.value) == "TRUSTED_PROXY_HOPS: needs ORIGIN_SECRET (the proxies' lock); expected 0 without it"
    edge = load({"ORIGIN_SECRET": secret, "TRUSTED_PROXY_HOPS": "2"}).edge
    assert (edge.origin_secret, edge.trusted_proxy_hops) == (secret, 2)
    assert secret not in repr(load({"ORIGIN_SECRET": secret}))
    assert secret in load({"ORIGIN_SECRET": secret}).secrets(), "scrubbed from messages like every secret"
    password = "sixteen-chars-ok"
    assert load({"RQ_DASHBOARD_USERNAME": "ops", "RQ_DASHBOARD_PASSWORD": password}).rq_dashboard_password == password


@pytest.mark.parametrize(
    "url",
    ["https://sts.example:443", "https://10.0.0.5", "http://127.0.0.1:4566", "http://localhost:9", "http://[::1]:9"],
)
def test_an_aws_endpoint_is_https_or_http_to_this_machine(url: str) -> None:
    assert aws_endpoint_url(url, "AWS_ENDPOINT_URL_STS").geturl() == url


@pytest.mark.parametrize(
    "url", ["http://sts.example", "http://10.0.0.5:4566", "http://127.0.0.1.evil.example", "http://[::2]:9"]
)
def test_an_aws_endpoint_over_plain_http_elsewhere_is_refused_in_one_line(url: str) -> None:
    with pytest.raises(SettingsError) as refused:
        aws_endpoint_url(url, "AWS_ENDPOINT_URL_SECRETS_MANAGER")
    assert str(refused.value) == (
        "AWS_ENDPOINT_URL_SECRETS_MANAGER: https:// is required (http:// only to 127.0.0.1, localhost or ::1)"
    )


@pytest.mark.parametrize("name", ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"])
def test_loaded_settings_leave_aws_unconfigured_behind_a_plain_http_endpoint(name: str) -> None:
    s = load({**AWS, name: "http://moto.example:4566"})
    assert s.aws is None
    assert s.problems["roles_anywhere"] == f"{name}: https:// is required (http:// only to 127.0.0.1, localhost or ::1)"
    assert load({**AWS, name: "http://127.0.0.1:4566"}).aws is not None
