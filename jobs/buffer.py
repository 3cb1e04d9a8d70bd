"""What the worker keeps in Valkey for when PostgreSQL is away.

- The pending list: cycles PostgreSQL could not take, oldest first, capped (the newest are kept), each one
  JSON of its slot and `ProbeResult.to_dict()`s (no secret: results never hold one). `flush` stores them in
  order and removes each only after PostgreSQL took it; a crash between the two stores it again on the next
  flush, which the store's UNIQUE(service, location, slot) turns into a no-op: never lost, never doubled.
- The dead-letter list: pending cycles that can never be stored (unreadable after an upgrade, or refused by
  PostgreSQL as data), moved aside so one bad entry does not hold back every later cycle. Kept for an
  operator to look at, capped like the pending list.
- The latest cycle, per service (and per service and location, for several probing locations), with a TTL of
  a few intervals: what the web's status table and /api/status show while PostgreSQL cannot be read.

Also how every part connects to Valkey with bounded waits (`bounded_url`, `client`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from jobs.defaults import PENDING_MAX
from jobs.result import ProbeResult, Status
from jobs.settings import ValkeySettings
from jobs.tls import ca_file

log = logging.getLogger(__name__)

PENDING_KEY = "hybrid-monitor:pending-results"
DEAD_KEY = "hybrid-monitor:dead-results"
LATEST_KEY = "hybrid-monitor:latest-results"


def bounded_url(vk: ValkeySettings, timeout_s: float) -> str:
    """Valkey's URL with connect and read timeouts and TCP keepalive and, over TLS, the server's certificate and
    hostname verified (against VALKEY_CA_CERT when given, else the system's CAs): for RQ and rq-dashboard,
    which take a URL, and for our clients. Holds the password: never log it."""
    url = f"{vk.url()}?socket_connect_timeout={timeout_s}&socket_timeout={timeout_s}&socket_keepalive=true"
    if vk.tls:
        url += "&ssl_cert_reqs=required&ssl_check_hostname=true"
        if vk.ca_cert:
            url += f"&ssl_ca_certs={quote(ca_file(vk.ca_cert), safe='')}"
    return url


def client(vk: ValkeySettings, timeout_s: float) -> redis.Redis:
    """A client whose every wait is bounded by `timeout_s`: one retry on a broken connection (a restarted
    server), none on a timeout (a frozen one), so one call waits at most about `timeout_s`."""
    return redis.Redis.from_url(
        bounded_url(vk, timeout_s), retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
    )


def client_unless_failing(
    vk: ValkeySettings | None, timeout_s: float, results: list[ProbeResult]
) -> redis.Redis | None:
    """A client, unless Valkey is not configured or this cycle's Valkey probe found it failing: then waiting
    on it again would only make the cycle longer."""
    working = any(r.service == "valkey" and r.status in (Status.UP, Status.DEGRADED) for r in results)
    return client(vk, timeout_s) if vk is not None and working else None


def encode(results: list[ProbeResult], slot: datetime) -> str:
    return json.dumps({"slot": slot.isoformat(), "results": [r.to_dict() for r in results]}, sort_keys=True)


def decode(entry: bytes | str) -> tuple[list[ProbeResult], datetime]:
    data = json.loads(entry)
    return [ProbeResult.from_dict(r) for r in data["results"]], datetime.fromisoformat(data["slot"])


def push(conn: redis.Redis, results: list[ProbeResult], slot: datetime, limit: int = PENDING_MAX) -> None:
    """Append one cycle to the pending list, dropping the oldest beyond `limit` (atomically)."""
    with conn.pipeline(transaction=True) as pipe:
        pipe.rpush(PENDING_KEY, encode(results, slot))
        pipe.ltrim(PENDING_KEY, -limit, -1)
        pipe.execute()


def pending(conn: redis.Redis) -> int:
    return int(conn.llen(PENDING_KEY))


def newest_pending(conn: redis.Redis, count: int) -> list[tuple[list[ProbeResult], datetime]]:
    """The newest `count` pending cycles, newest first (an entry that cannot be read is skipped)."""
    cycles = []
    for entry in reversed(conn.lrange(PENDING_KEY, -count, -1)):
        try:
            cycles.append(decode(entry))
        except (ValueError, KeyError, TypeError):
            continue
    return cycles


def _set_aside(conn: redis.Redis, entry: bytes, limit: int = PENDING_MAX) -> None:
    with conn.pipeline(transaction=True) as pipe:
        pipe.rpush(DEAD_KEY, entry)
        pipe.ltrim(DEAD_KEY, -limit, -1)
        # By value, not by position: a concurrent push may have trimmed the head meanwhile.
        pipe.lrem(PENDING_KEY, 1, entry)
        pipe.execute()


def flush(
    conn: redis.Redis,
    write: Callable[[list[ProbeResult], datetime], object],
    refused: tuple[type[Exception], ...] = (),
    batch: int = 100,
) -> int:
    """Store pending cycles oldest first with `write` (which must be idempotent per slot), each removed only
    once written; at most `batch` per call, so one flush stays short. Returns how many were written.
    An entry that cannot be read, or that `write` refuses with one of `refused` (the data is wrong, not the
    connection), goes to the dead-letter list; any other error stops the flush, leaving that cycle and the
    later ones pending."""
    written = 0
    for entry in conn.lrange(PENDING_KEY, 0, batch - 1):
        try:
            results, slot = decode(entry)
            write(results, slot)
        except (ValueError, KeyError, TypeError, *refused) as exc:
            log.error("a pending cycle can never be stored (%s); moved to %s", type(exc).__name__, DEAD_KEY)
            _set_aside(conn, entry)
            continue
        conn.lrem(PENDING_KEY, 1, entry)
        written += 1
    return written


def cache_latest(conn: redis.Redis, results: list[ProbeResult], ttl_s: int) -> None:
    """Remember this cycle's results for `ttl_s` seconds, in a field per service (the newest of any location)
    and one per service and location (`service@location`)."""
    encoded = [(r, json.dumps(r.to_dict())) for r in results]
    mapping = {r.service: text for r, text in encoded} | {f"{r.service}@{r.location}": text for r, text in encoded}
    with conn.pipeline(transaction=True) as pipe:
        pipe.hset(LATEST_KEY, mapping=mapping)
        pipe.expire(LATEST_KEY, ttl_s)
        pipe.execute()


def _cached(conn: redis.Redis) -> dict[str, ProbeResult]:
    return {
        field.decode(): ProbeResult.from_dict(json.loads(value)) for field, value in conn.hgetall(LATEST_KEY).items()
    }


def cached_latest(conn: redis.Redis) -> dict[str, ProbeResult]:
    """The cached latest result per service, of any location (empty when the cache expired or was never
    written)."""
    return {field: result for field, result in _cached(conn).items() if "@" not in field}


def cached_latest_by_location(conn: redis.Redis) -> dict[tuple[str, str], ProbeResult]:
    """The cached latest result per (service, location) (empty when the cache expired or was never written)."""
    return {(r.service, r.location): r for field, r in _cached(conn).items() if "@" in field}
