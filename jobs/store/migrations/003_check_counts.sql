-- Running totals of stored checks per service and location, for Prometheus counters: they only ever grow,
-- whatever retention later prunes from probe_results. write_results adds to them in the same statement
-- that stores the rows, so a duplicate slot (dropped by the unique constraint) is never counted.
-- They start at this migration; Prometheus treats the start like a counter reset.
CREATE TABLE probe_check_counts (
    service text NOT NULL,
    location text NOT NULL,
    checks bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (service, location)
);
