-- A test notification, asked for by an operator: a delivery of kind 'test' per channel, about no incident,
-- sent and logged like any other.
ALTER TABLE alert_deliveries DROP CONSTRAINT alert_deliveries_kind_check;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_kind_check
    CHECK (kind IN ('firing', 'resolved', 'test'));
ALTER TABLE alert_deliveries DROP CONSTRAINT alert_deliveries_incident_ids_check;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_incident_ids_check
    CHECK (kind = 'test' OR cardinality(incident_ids) > 0);
