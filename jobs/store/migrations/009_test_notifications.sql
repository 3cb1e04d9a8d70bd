-- A test notification, asked for by an operator: a delivery of kind 'test' per channel, about no incident
-- and no certificate, sent and logged like any other.
ALTER TABLE alert_deliveries
    DROP CONSTRAINT alert_deliveries_kind_check,
    ADD CONSTRAINT alert_deliveries_kind_check
        CHECK (kind IN ('firing', 'reminder', 'resolved', 'certificate', 'test')),
    DROP CONSTRAINT alert_deliveries_tells_of,
    ADD CONSTRAINT alert_deliveries_tells_of CHECK (
        CASE kind
            WHEN 'certificate' THEN certificate_warning_id IS NOT NULL AND cardinality(incident_ids) = 0
            WHEN 'test' THEN certificate_warning_id IS NULL AND cardinality(incident_ids) = 0
            ELSE certificate_warning_id IS NULL AND cardinality(incident_ids) > 0
        END
    );
