"""The product's tunables in one place: timeouts, grace periods, buffer sizes, stale thresholds, thread counts.

The first group are the defaults of the settings of the same name (README's Settings table); the rest are
fixed. Standard library only: `jobs.supervise` imports this and must stay light.
"""

from datetime import timedelta

# Defaults of settings (jobs/settings/).
PROBE_INTERVAL_S = 60  # seconds between probe cycles
PROBE_TIMEOUT_S = 10.0  # deadline of each probe, and the bound of every wait on a dependency
DASH_REFRESH_S = 30  # seconds between the page's data refreshes
CERT_WARN_DAYS = 30  # Roles Anywhere is degraded when the client certificate expires within this many days
CERT_WARN_AT_DAYS = (30, 14, 7, 1)  # the client certificate's expiry is told once at each of these days left
RAW_RETENTION_DAYS = 14  # days raw results are kept
ROLLUP_RETENTION_DAYS = 400  # days hourly rollups are kept
WEB_CONCURRENCY = 1  # gunicorn worker processes of the web
ALERT_OPEN_FAILURES = 3  # an incident opens when this many of a service's last ALERT_OPEN_WINDOW checks failed
ALERT_OPEN_WINDOW = 5  # ... the checks ALERT_OPEN_FAILURES are counted in
ALERT_RESOLVE_CHECKS = 2  # an open incident resolves after this many checks in a row that worked
SESSION_MAX_AGE_S = 12 * 3600  # an operator's sign-in lasts this long, however active
ALERT_REMINDER_S = 4 * 3600.0  # an open incident whose firing was sent is told again this often (0: never)

# The web (dashapp/).
# gunicorn threads per web process, and so the web's PostgreSQL connections per process (dashapp/reader.py).
# Few threads queue less on Python's GIL, which keeps the API's tail latency low (bench/README.md); a read
# that waits out its bound makes the next ones fail at once, so a frozen database does not hold them all.
WEB_THREADS = 3
WEB_WORKER_TIMEOUT_S = 30  # gunicorn restarts a web worker silent for this long
# A request must reach the web whole within this long of its first byte, else its connection is closed; a new
# connection silent this long waits in gunicorn's poller, holding no thread (dashapp/gunicorn_worker.py). So slow
# clients hold a web thread this long at most. Under App Platform's health check timeout (5 s, app.yaml).
REQUEST_READ_TIMEOUT_S = 3.0
MAX_BODY_BYTES = 256 * 1024  # largest request body; Dash's callback payloads are a few KB, more is abuse
MAX_POINTS = 500  # points per chart series and per /api/history answer, at most
MAX_INCIDENTS = 1000  # incidents per /api/incidents answer, at most (newest first)
# The public status page is rendered at most once per this many seconds per web process, however many ask.
STATUS_PAGE_CACHE_S = 5.0
# The board's newest results and uptimes are read from PostgreSQL at most once per this many seconds per web
# process (results change once a cycle); statuses are still judged against each request's own clock.
BOARD_READ_S = 1.0
STALE_AFTER_INTERVALS = 2.5  # a result older than this many probe intervals means the worker stopped reporting
WEB_READ_TIMEOUT_S = 2.0  # bound on every wait the web does on PostgreSQL or Valkey, well under gunicorn's
WEB_QUIET_S = 5.0  # after PostgreSQL sent nothing for a whole bound, the web does not ask it for this long
WEB_MIGRATE_TIMEOUT_S = 10.0  # bound on the migrations the web applies at start
MIGRATE_RETRY_S = 30.0  # after a failed migration on first contact, the web tries again this much later
OIDC_PROVIDER_TIMEOUT_S = 10  # bound on every request to the sign-in provider (discovery, keys, token)
# Wrong answers one client address may give within LOGIN_WINDOW_S (to /login in AUTH_MODE=basic, to /rq's and
# /operator's basic auth in AUTH_MODE=none) before it must wait (dashapp/login_limit.py).
LOGIN_FAILURES = 10
LOGIN_WINDOW_S = 300  # the span in which LOGIN_FAILURES wrong answers make an address wait
LOGIN_ADDRESSES_MAX = 10_000  # client addresses the login limit remembers at most, per web process
SPACES_CONNECT_TIMEOUT_S = 5  # `python -m dashapp publish-assets`: bound on connecting to Spaces
SPACES_READ_TIMEOUT_S = 30  # ... and on each answer of Spaces

# The worker and the scheduler (jobs/).
# Each wave of probes starts when the one before is done, or after this long (jobs.probes.WAVES).
WAVE_S = 0.5
DEADLINE_GRACE_S = 0.25  # the cycle waits this long past PROBE_TIMEOUT_S, so a probe's own timeout message wins
# Python's thread switch interval while probes run (its default is 5 ms): a probe whose answer has arrived waits
# at most about this long for the interpreter while another probe does CPU work, and so for each round trip.
PROBE_SWITCH_INTERVAL_S = 0.001
MAINTENANCE_TIMEOUT_S = 120.0  # bound on each statement of the hourly roll-up and prune
PRUNE_BATCH = 5000  # rows deleted per statement when pruning, so no delete holds locks or the WAL for long
REROLL = timedelta(hours=24)  # rolled-up hours are rolled up again this long, to take in late results
# History ranges up to this long read raw rows, longer ones rollups: RAW_RETENTION_DAYS is at least a day, and
# a day of checks a minute still downsamples cheaply.
RAW_MAX_SPAN = timedelta(hours=24)
# Lifetime of the latest-results cache in Valkey, in probe intervals: longer than the board's stale threshold,
# so the web can still say "stale".
LATEST_TTL_INTERVALS = 5
PENDING_MAX = 1440  # cycles kept in Valkey while PostgreSQL is away: a day at the default interval, a few MB
VALKEY_KEY_TTL_S = 300  # lifetime of the key the Valkey probe writes and reads back
RQ_VALKEY_TIMEOUT_MIN_S = 5.0  # least bound on RQ's Valkey waits (connect, read), whatever PROBE_TIMEOUT_S
# A killed cycle's registry entry expires this long after the job's timeout: time for RQ's bookkeeping after a
# job hit its timeout (each Valkey call is bounded by a few seconds).
ABANDONED_AFTER_TIMEOUT_S = 10
ALERT_RETRY_FIRST_S = 15.0  # a delivery that failed is tried again this much later, the wait doubling each time
ALERT_RETRY_MAX_S = 600.0  # ... up to this long between attempts
ALERT_GIVE_UP_AFTER = timedelta(hours=24)  # a delivery still failing this long after it was added is given up
SENDER_SHUTDOWN_WAIT_S = 10.0  # a stopping worker waits this long for a notification being sent
# The web's self-watch opens the `monitor` incident when no cycle was stored for this many probe intervals.
MONITOR_SILENT_INTERVALS = 3
ALERT_SENDER_BUDGET_S = 120.0  # a sender job claims no new delivery after this long (the next job goes on)
SENDER_JOB_TIMEOUT_S = int(ALERT_SENDER_BUDGET_S) + 60  # RQ stops a sender job: its budget and a send under way
TELL_JOB_TIMEOUT_S = 120  # RQ stops the job telling PostgreSQL's outage (sent from Valkey alone) after this long
TELL_CLAIM_TTL_S = 120  # a worker's claim on telling one channel of that outage lapses, should it die sending
MAINTENANCE_JOB_TIMEOUT_S = 600  # RQ stops the hourly roll-up and prune job after this long
ALERT_JOB_RESULT_KEEP_S = 3600  # RQ keeps a finished notification job's result this long
MAINTENANCE_RESULT_KEEP_S = 86400  # RQ keeps the roll-up job's summary this long
FAILED_JOB_KEEP_S = 7 * 86400  # RQ keeps a failed job this long, for /rq to show
CLI_TIMEOUT_MIN_S = 5.0  # least bound on `python -m jobs migrate` and `silence` waits, whatever PROBE_TIMEOUT_S
SUPERVISE_BACKOFF_FIRST_S = 1.0  # first wait before `jobs.supervise` restarts a command that exited
SUPERVISE_BACKOFF_MAX_S = 30.0  # longest wait between restarts (the wait doubles from the first)
SUPERVISE_HEALTHY_RUN_S = 60.0  # a run this long was healthy: the next failure starts the backoff again
HEARTBEAT_TIMEOUT_S = 3.0  # bound on the ALERT_HEARTBEAT_URL request after a stored cycle (at most PROBE_TIMEOUT_S)
