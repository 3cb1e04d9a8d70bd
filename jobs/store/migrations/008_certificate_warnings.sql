-- Certificate expiry warnings: one row per certificate (its SHA-256 fingerprint) and threshold (days left)
-- once told. The unique key makes the insert the decision, so two workers never tell the same warning twice
-- and a rotated certificate (a new fingerprint) is told again from its own thresholds.
CREATE TABLE certificate_warnings (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint     text NOT NULL,
    threshold_days  integer NOT NULL CHECK (threshold_days >= 0),
    service         text NOT NULL,
    subject         text NOT NULL,
    not_after       timestamptz NOT NULL,
    days_left       integer NOT NULL,
    warned_at       timestamptz NOT NULL,
    CONSTRAINT certificate_warnings_once UNIQUE (fingerprint, threshold_days)
);

-- The outbox also carries certificate warnings: such a delivery tells of one warning and no incident.
ALTER TABLE alert_deliveries
    ADD COLUMN certificate_warning_id bigint REFERENCES certificate_warnings (id) ON DELETE CASCADE,
    DROP CONSTRAINT alert_deliveries_kind_check,
    ADD CONSTRAINT alert_deliveries_kind_check CHECK (kind IN ('firing', 'reminder', 'resolved', 'certificate')),
    DROP CONSTRAINT alert_deliveries_incident_ids_check,
    ADD CONSTRAINT alert_deliveries_tells_of CHECK (
        CASE WHEN kind = 'certificate' THEN certificate_warning_id IS NOT NULL AND cardinality(incident_ids) = 0
             ELSE certificate_warning_id IS NULL AND cardinality(incident_ids) > 0 END
    );
