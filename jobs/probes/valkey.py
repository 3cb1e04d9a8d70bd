"""Valkey probe: connect (TLS for rediss://), PING, SET a per-location key with a TTL, GET it back and compare."""

from __future__ import annotations

import secrets
import ssl
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from jobs.buffer import bounded_url
from jobs.defaults import VALKEY_KEY_TTL_S as KEY_TTL_S
from jobs.probes.outcome import not_configured, result_of_check
from jobs.result import ProbeResult, Timer, one_line
from jobs.settings import Settings, ValkeySettings

WAVE = 0  # its turn before the AWS probes (jobs.probes.WAVES)
SERVICE = "valkey"


def _certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The TLS verification failure behind a redis-py error (redis-py raises its own error inside the handler)."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__cause__ or cause.__context__
    return cause


def describe_error(exc: redis.RedisError, vk: ValkeySettings, timeout_s: float, doing: str) -> str:
    """One actionable line for a redis-py error (its messages never hold the password)."""
    text = " ".join(str(exc).split())
    endpoint = vk.endpoint
    if certificate := _certificate_error(exc):
        reason = (certificate.verify_message or "").rstrip(".")
        if "mismatch" in reason:  # "Hostname mismatch, certificate is not valid for 'h'" or "IP address mismatch"
            host = f"the certificate is not for {vk.host}"
            return f"hostname mismatch for {endpoint}: {host}; check the host in {vk.host_from}"
        ca = "VALKEY_CA_CERT" if vk.ca_cert else "VALKEY_CA_CERT (not set: the system's CAs were used)"
        return f"certificate verify failed for {endpoint} ({reason}): check {ca}"
    if isinstance(exc, redis.TimeoutError):
        return f"timed out after {timeout_s:g} s {doing} {endpoint}"
    if isinstance(exc, redis.AuthenticationError) or "WRONGPASS" in text or "NOAUTH" in text:
        return f"authentication to {endpoint} failed: {text.removeprefix('WRONGPASS ').rstrip('.')}"
    if "Connection refused" in text:
        return f"connection refused by {endpoint}"
    return text or type(exc).__name__


def probe(settings: Settings) -> ProbeResult:
    vk = settings.valkey
    if vk is None:
        return not_configured(SERVICE, settings, "set VALKEY_URL (or VALKEY_HOST, VALKEY_PORT, VALKEY_PASSWORD)")
    timeout_s = settings.probe_timeout_s
    timer = Timer()
    key = f"hybrid-monitor:probe:{settings.location}"
    detail: dict[str, object] = {"tls": vk.tls, "key": key}
    error: str | None = None
    doing = "connecting to"
    client: redis.Redis | None = None
    try:
        with timer.phase("connect"):
            # One connection made here (TCP, TLS, AUTH), no retries: a probe reports what it finds.
            client = redis.Redis.from_url(
                bounded_url(vk, timeout_s), single_connection_client=True, retry=Retry(NoBackoff(), 0)
            )
        doing = "waiting for PING from"
        with timer.phase("ping"):
            client.ping()
        token = secrets.token_hex(8)
        doing = "writing to"
        with timer.phase("write"):
            client.set(key, token, ex=KEY_TTL_S)
        doing = "reading from"
        with timer.phase("read"):
            read_back = client.get(key)
        timer.stop()
        if read_back != token.encode():
            error = f"the key {key} written to {vk.endpoint} did not read back the same"
        # Facts for the detail, outside the measured check and within what is left of the cycle's deadline.
        remaining_s = timeout_s - (time.perf_counter() - timer.started) - 0.1
        if remaining_s > 0:
            doing = "reading INFO from"
            client.connection.update_current_socket_timeout(remaining_s)
            info = client.info("server")
            detail["server"] = info.get("server_name", "redis")
            detail["version"] = info.get("valkey_version") or info.get("redis_version")
    except redis.RedisError as exc:
        # INFO comes after the measured check: a server that forbids or is slow to answer it still passed.
        if doing != "reading INFO from":
            error = one_line(describe_error(exc, vk, timeout_s, doing), vk.password)
    finally:
        if client is not None:
            client.close()
    return result_of_check(SERVICE, settings, vk.endpoint, timer, detail, error)
