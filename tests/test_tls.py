"""Verified TLS to PostgreSQL and Valkey, against the test servers behind TLS (sandbox/tls_front.py) with
certificates from a CA made here: the right CA connects (probes, the store, the buffer and RQ's URL); a wrong CA
or a certificate for another host is a one-line error naming the setting to check, on the probe's result."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest
import redis

from jobs import buffer, store
from jobs.probes import postgres, valkey
from jobs.result import Status
from jobs.settings import Settings, load
from sandbox.pki import Pem, make_ca, make_server_cert
from sandbox.tls_front import Protocol, TlsFront, url_through
from tests.conftest import ROOT


@dataclass(frozen=True)
class Tls:
    ca: str  # PEM of the CA that signed both server certificates
    other_ca: str  # PEM of a CA that signed neither
    ca_path: Path
    fronts: dict[tuple[Protocol, str], TlsFront]  # (protocol, "right" or "other-host") -> its front


def _front(upstream_url: str, protocol: Protocol, cert: Pem, directory: Path, name: str) -> TlsFront:
    (directory / f"{name}.pem").write_bytes(cert.cert)
    (directory / f"{name}.key").write_bytes(cert.key)
    parts = urlsplit(upstream_url)
    upstream = (parts.hostname or "127.0.0.1", parts.port or 0)
    return TlsFront(upstream, protocol, directory / f"{name}.pem", directory / f"{name}.key").start()


@pytest.fixture(scope="module")
def tls(pg_server_url: str, valkey_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tls]:
    """TLS fronts for the session's servers: one with a certificate for 127.0.0.1 and localhost, one with a
    certificate for db.example, both signed by the same CA."""
    directory = tmp_path_factory.mktemp("tls")
    ca = make_ca()
    right, other_host = make_server_cert(ca), make_server_cert(ca, names=("db.example",))
    fronts: dict[tuple[Protocol, str], TlsFront] = {}
    try:
        for protocol, url in (("postgres", pg_server_url), ("valkey", valkey_server_url)):
            for name, cert in (("right", right), ("other-host", other_host)):
                fronts[(protocol, name)] = _front(url, protocol, cert, directory, f"{protocol}-{name}")
        (directory / "ca.pem").write_bytes(ca.cert)
        yield Tls(ca.cert.decode(), make_ca().cert.decode(), directory / "ca.pem", fronts)
    finally:
        for front in fronts.values():
            front.stop()


def settings_through(tls: Tls, base_env: dict[str, str], name: str = "right", **extra: str) -> Settings:
    env = {
        **base_env,
        # DigitalOcean's bound URLs: sslmode=require, rediss://.
        "DATABASE_URL": url_through(base_env["DATABASE_URL"], tls.fronts[("postgres", name)]) + "?sslmode=require",
        "VALKEY_URL": url_through(base_env["VALKEY_URL"], tls.fronts[("valkey", name)]),
        "DATABASE_CA_CERT": tls.ca,
        "VALKEY_CA_CERT": tls.ca,
        "PROBE_INTERVAL_S": "60",
        "PROBE_TIMEOUT_S": "10",
        **extra,
    }
    settings = load({key: value for key, value in env.items() if value})
    assert settings.problems == {}
    return settings


@pytest.fixture
def migrated(base_env: dict[str, str], conn: psycopg2.extensions.connection) -> dict[str, str]:
    """`base_env`, its database migrated (by conftest's `conn`, over the plain port)."""
    return base_env


def test_the_right_ca_connects_with_verify_full(tls: Tls, migrated: dict[str, str]) -> None:
    settings = settings_through(tls, migrated)
    assert settings.postgres.sslmode == "verify-full"
    pg_result, valkey_result = postgres.probe(settings), valkey.probe(settings)
    assert pg_result.status is Status.UP, pg_result.error
    assert valkey_result.status is Status.UP, valkey_result.error
    assert pg_result.detail["tls"] is True and valkey_result.detail["tls"] is True
    # The store's and the buffer's connections (and RQ's, which takes the same URL) verify the same way.
    verified = store.connect(settings.postgres, 10)
    assert verified.info.ssl_in_use and verified.info.ssl_attribute("protocol").startswith("TLS")
    assert verified.get_dsn_parameters()["sslmode"] == "verify-full"
    verified.close()
    client = buffer.client(settings.valkey, 10)
    assert client.ping()
    assert client.connection_pool.connection_kwargs["ssl_cert_reqs"] == "required"
    client.close()


def test_a_ca_file_in_pgsslrootcert_connects_too(tls: Tls, migrated: dict[str, str]) -> None:
    settings = settings_through(tls, migrated, DATABASE_CA_CERT="", PGSSLROOTCERT=str(tls.ca_path))
    result = postgres.probe(settings)
    assert result.status is Status.UP, result.error


def test_a_wrong_ca_is_one_line_naming_the_setting(tls: Tls, migrated: dict[str, str]) -> None:
    settings = settings_through(tls, migrated, DATABASE_CA_CERT=tls.other_ca, VALKEY_CA_CERT=tls.other_ca)
    pg_port, valkey_port = tls.fronts[("postgres", "right")].port, tls.fronts[("valkey", "right")].port
    pg_result, valkey_result = postgres.probe(settings), valkey.probe(settings)
    assert pg_result.status is Status.DOWN and valkey_result.status is Status.DOWN
    assert pg_result.error == f"certificate verify failed for 127.0.0.1:{pg_port}: check DATABASE_CA_CERT"
    assert valkey_result.error == (
        f"certificate verify failed for 127.0.0.1:{valkey_port} (unable to get local issuer certificate): "
        "check VALKEY_CA_CERT"
    )
    # The store and the buffer refuse the server too.
    with pytest.raises(psycopg2.OperationalError) as refused:
        store.connect(settings.postgres, 10)
    assert store.describe_error(str(refused.value), settings.postgres) == pg_result.error
    with pytest.raises(redis.ConnectionError):
        buffer.client(settings.valkey, 10).ping()


def test_a_certificate_for_another_host_is_one_line_naming_it(tls: Tls, migrated: dict[str, str]) -> None:
    settings = settings_through(tls, migrated, "other-host")
    pg_port, valkey_port = tls.fronts[("postgres", "other-host")].port, tls.fronts[("valkey", "other-host")].port
    pg_result, valkey_result = postgres.probe(settings), valkey.probe(settings)
    assert pg_result.status is Status.DOWN and valkey_result.status is Status.DOWN
    assert pg_result.error == (
        f"hostname mismatch for 127.0.0.1:{pg_port}: the certificate is for db.example; check the host in DATABASE_URL"
    )
    assert valkey_result.error == (
        f"hostname mismatch for 127.0.0.1:{valkey_port}: the certificate is not for 127.0.0.1; "
        "check the host in VALKEY_URL"
    )
    with pytest.raises(psycopg2.OperationalError):
        store.connect(settings.postgres, 10)
    with pytest.raises(redis.ConnectionError):
        buffer.client(settings.valkey, 10).ping()


def test_without_a_ca_verification_still_happens(tls: Tls, migrated: dict[str, str]) -> None:
    """verify-full asked for with no CA given, and rediss:// with no CA (so the system's CAs): both refuse the
    sandbox's certificate rather than connect unverified."""
    settings = load(
        {
            "DATABASE_URL": url_through(migrated["DATABASE_URL"], tls.fronts[("postgres", "right")]),
            "PGSSLMODE": "verify-full",
            "VALKEY_URL": url_through(migrated["VALKEY_URL"], tls.fronts[("valkey", "right")]),
            "PROBE_TIMEOUT_S": "10",
        }
    )
    valkey_port = tls.fronts[("valkey", "right")].port
    assert postgres.probe(settings).error == (
        "sslmode verify-full needs the server's CA certificate: check DATABASE_CA_CERT"
    )
    assert valkey.probe(settings).error == (
        f"certificate verify failed for 127.0.0.1:{valkey_port} (unable to get local issuer certificate): "
        "check VALKEY_CA_CERT (not set: the system's CAs were used)"
    )


def test_a_ca_given_as_text_is_one_private_file_per_process_removed_at_exit(tls: Tls) -> None:
    script = (
        "import os, stat, sys\n"
        "from jobs.tls import ca_file\n"
        "path = ca_file(sys.argv[1])\n"
        "assert ca_file(sys.argv[1]) == path\n"
        "print(path, oct(stat.S_IMODE(os.stat(path).st_mode)), open(path).read() == sys.argv[1])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, tls.ca], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
    )
    path, mode, same = done.stdout.split()
    assert (mode, same) == ("0o600", "True")
    assert not Path(path).exists(), "removed when the process ended"
