"""The product's tunables in one place: timeouts, grace periods, buffer sizes, stale thresholds, thread counts.

The first group are the defaults of the settings of the same name (README's Settings table); the rest are
fixed. Standard library only: `jobs.supervise` imports this and must stay light.
"""

# Defaults of settings (jobs/settings/).
PROBE_INTERVAL_S = 60  # seconds between probe cycles
PROBE_TIMEOUT_S = 10.0  # deadline of each probe, and the bound of every wait on a dependency
DASH_REFRESH_S = 30  # seconds between the page's data refreshes
CERT_WARN_DAYS = 30  # Roles Anywhere is degraded when the client certificate expires within this many days
RAW_RETENTION_DAYS = 14  # days raw results are kept
ROLLUP_RETENTION_DAYS = 400  # days hourly rollups are kept
WEB_CONCURRENCY = 1  # gunicorn worker processes of the web

# The web (dashapp/).
# gunicorn threads per web process, and so the web's PostgreSQL connections per process (dashapp/reader.py).
# Few threads queue less on Python's GIL, which keeps the API's tail latency low (bench/README.md); a read
# that waits out its bound makes the next ones fail at once, so a frozen database does not hold them all.
WEB_THREADS = 3
WEB_WORKER_TIMEOUT_S = 30  # gunicorn restarts a web worker silent for this long
MAX_BODY_BYTES = 256 * 1024  # largest request body; Dash's callback payloads are a few KB, more is abuse
MAX_POINTS = 500  # points per chart series and per /api/history answer, at most
STALE_AFTER_INTERVALS = 2.5  # a result older than this many probe intervals means the worker stopped reporting

# The worker and the scheduler (jobs/).
# Lifetime of the latest-results cache in Valkey, in probe intervals: longer than the board's stale threshold,
# so the web can still say "stale".
LATEST_TTL_INTERVALS = 5
PENDING_MAX = 1440  # cycles kept in Valkey while PostgreSQL is away: a day at the default interval, a few MB
VALKEY_KEY_TTL_S = 300  # lifetime of the key the Valkey probe writes and reads back
RQ_VALKEY_TIMEOUT_MIN_S = 5.0  # least bound on RQ's Valkey waits (connect, read), whatever PROBE_TIMEOUT_S
# A killed cycle's registry entry expires this long after the job's timeout: time for RQ's bookkeeping after a
# job hit its timeout (each Valkey call is bounded by a few seconds).
ABANDONED_AFTER_TIMEOUT_S = 10
SUPERVISE_BACKOFF_FIRST_S = 1.0  # first wait before `jobs.supervise` restarts a command that exited
SUPERVISE_BACKOFF_MAX_S = 30.0  # longest wait between restarts (the wait doubles from the first)
SUPERVISE_HEALTHY_RUN_S = 60.0  # a run this long was healthy: the next failure starts the backoff again
