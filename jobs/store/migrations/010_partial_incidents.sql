-- An incident may be `partial`: failing from fewer probing locations than the alerting rule counts.
ALTER TABLE incidents DROP CONSTRAINT incidents_level_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_level_check CHECK (level IN ('partial', 'warning', 'critical'));
