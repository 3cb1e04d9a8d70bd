-- The outbox of notifications: one delivery per channel, added in the transaction that opens or resolves
-- the incidents it tells of, so a change is never committed without its notifications (nor the reverse).
-- A sender claims due deliveries (FOR UPDATE SKIP LOCKED), oldest first per channel, and records every
-- attempt.
CREATE TABLE alert_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('firing', 'resolved')),
    -- The incidents one message tells of: those one cycle opened (or resolved) together.
    incident_ids     bigint[] NOT NULL CHECK (cardinality(incident_ids) > 0),
    -- Which ALERT_URLS entry: a hash of the URL, which is a secret and stays in the settings.
    channel_key      text NOT NULL,
    channel          text NOT NULL,  -- the URL with its secrets masked, for people
    created_at       timestamptz NOT NULL,
    next_attempt_at  timestamptz NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    sent_at          timestamptz,
    gave_up_at       timestamptz,
    last_error       text
);

CREATE INDEX alert_deliveries_pending ON alert_deliveries (channel_key, id)
    WHERE sent_at IS NULL AND gave_up_at IS NULL;

CREATE TABLE alert_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   bigint NOT NULL REFERENCES alert_deliveries (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL,
    channel       text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('sent', 'failed', 'gave_up')),
    error         text
);

CREATE INDEX alert_attempts_delivery ON alert_attempts (delivery_id, attempted_at);
