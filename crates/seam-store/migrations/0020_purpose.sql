-- Eval traffic as its own purpose (issue 24): a call made with `x-seam-purpose: eval` (an eval
-- run's) records `eval`; live traffic, and every call recorded before this migration, is NULL,
-- so live calls write nothing more. On PostgreSQL the partitioned calls table (migration 16)
-- passes the column on to each of its partitions.
ALTER TABLE calls ADD COLUMN purpose TEXT;
