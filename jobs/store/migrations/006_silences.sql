-- Silences: an operator's "tell nobody about this service (or all) until then, because ...". Checks and
-- incidents are still recorded while one is active; only the firing waits (python -m jobs silence).
CREATE TABLE silences (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service     text NOT NULL,  -- a service name, or 'all'
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
    reason      text NOT NULL CHECK (reason <> ''),
    created_at  timestamptz NOT NULL
);

CREATE INDEX silences_ends_at ON silences (ends_at);

-- in_maintenance: the incident was open at some decision inside a maintenance window or a silence.
-- firing_held: its firing is owed but waits for the window or silence to end (then queued, if still open).
-- told_at: when its firing or last reminder was queued (NULL: never); reminders are decided from it.
ALTER TABLE incidents
    ADD COLUMN in_maintenance boolean NOT NULL DEFAULT false,
    ADD COLUMN firing_held boolean NOT NULL DEFAULT false,
    ADD COLUMN told_at timestamptz;

-- Open incidents from before this migration had their firing queued when they opened.
UPDATE incidents SET told_at = started_at WHERE ended_at IS NULL;

ALTER TABLE alert_deliveries DROP CONSTRAINT alert_deliveries_kind_check;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_kind_check
    CHECK (kind IN ('firing', 'reminder', 'resolved'));
