-- Incidents: a service (at a location) failing by the alerting rule, from the check that started it to the
-- first of the checks in a row that worked. The database guarantees one open incident per service and
-- location (the partial unique index), so two workers deciding the same cycle cannot open two.
CREATE TABLE incidents (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service        text NOT NULL,
    location       text NOT NULL,
    level          text NOT NULL CHECK (level IN ('warning', 'critical')),
    started_at     timestamptz NOT NULL,
    ended_at       timestamptz CHECK (ended_at >= started_at),
    first_error    text,
    worst_status   text NOT NULL CHECK (worst_status IN ('degraded', 'down')),
    checks_failed  integer NOT NULL DEFAULT 0 CHECK (checks_failed >= 0),
    root_cause     text
);

CREATE UNIQUE INDEX incidents_one_open ON incidents (service, location) WHERE ended_at IS NULL;
-- A service's history, newest first (and where its last incident ended, which the rule reads every cycle).
CREATE INDEX incidents_service_started_at ON incidents (service, location, started_at DESC);
