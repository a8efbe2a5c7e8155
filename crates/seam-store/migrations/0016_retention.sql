-- Retention (issue 23). A lease names the one gateway that runs a shared chore (the retention
-- round) at a time across every gateway sharing the store: a row per chore, taken by
-- writing it when it is free or expired, kept by renewing it. One statement, the same on both
-- backends (see sql/retention.rs).
CREATE TABLE IF NOT EXISTS leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
-- On PostgreSQL this migration then range-partitions calls, attempts, streams and contents by
-- created_ms, one partition per UTC month and a default partition, moving the rows across
-- (sql/partitions.rs); SQLite keeps one table each and deletes expired rows in batches.
