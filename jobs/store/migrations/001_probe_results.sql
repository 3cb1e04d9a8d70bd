-- The time series of probe results, and the table the PostgreSQL probe writes its canary row into.

CREATE TABLE probe_results (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service     text NOT NULL,
    location    text NOT NULL,
    -- The scheduled slot the cycle ran for: a duplicate run of a slot stores nothing new.
    slot        timestamptz NOT NULL,
    checked_at  timestamptz NOT NULL,
    status      text NOT NULL CHECK (status IN ('up', 'degraded', 'down', 'not_configured')),
    latency_ms  double precision NOT NULL CHECK (latency_ms >= 0),
    endpoint    text NOT NULL DEFAULT '',
    phases      jsonb NOT NULL DEFAULT '{}',
    detail      jsonb NOT NULL DEFAULT '{}',
    error       text,
    CONSTRAINT probe_results_once_per_slot UNIQUE (service, location, slot)
);

-- Serves both dashboard reads: the latest result per service and one service over a time range.
CREATE INDEX probe_results_service_checked_at ON probe_results (service, checked_at DESC);

CREATE TABLE probe_canary (
    token       text PRIMARY KEY,
    location    text NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now()
);
