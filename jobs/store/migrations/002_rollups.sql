-- Rollups of probe_results, kept far longer than the raw rows, so long ranges read one row per hour or day.
-- Counts and latencies follow store.history: `not_configured` results are not checks, and latencies are of
-- the checks that worked (up or degraded); the latency columns are NULL when none did.

CREATE TABLE probe_rollups (
    service        text NOT NULL,
    -- Start of the hour (UTC) of the results' checked_at.
    hour           timestamptz NOT NULL,
    location       text NOT NULL,
    checks         integer NOT NULL CHECK (checks > 0),
    up_checks      integer NOT NULL CHECK (up_checks BETWEEN 0 AND checks),
    latency_ms_min double precision,
    latency_ms_p50 double precision,
    latency_ms_p95 double precision,
    latency_ms_max double precision,
    -- (service, hour) first: every read is one service over a range of hours, any location.
    PRIMARY KEY (service, hour, location)
);

-- The hourly rollups summed per UTC day, for ranges of months: a year is 365 rows per service and location.
-- checks, up_checks, min and max are exact; p50 and p95 are the up-check-weighted means of the hours' values.
CREATE TABLE probe_rollups_daily (
    service        text NOT NULL,
    day            timestamptz NOT NULL,
    location       text NOT NULL,
    checks         integer NOT NULL CHECK (checks > 0),
    up_checks      integer NOT NULL CHECK (up_checks BETWEEN 0 AND checks),
    latency_ms_min double precision,
    latency_ms_p50 double precision,
    latency_ms_p95 double precision,
    latency_ms_max double precision,
    PRIMARY KEY (service, day, location)
);

-- One row: every hour before `rolled_until` is in probe_rollups, and every whole day before it in
-- probe_rollups_daily. Reads take those from the rollups and the rest from the raw rows; pruning never
-- deletes a raw row a roll-up may still need.
CREATE TABLE probe_rollup_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    rolled_until timestamptz NOT NULL
);
INSERT INTO probe_rollup_state (rolled_until) VALUES ('-infinity');
