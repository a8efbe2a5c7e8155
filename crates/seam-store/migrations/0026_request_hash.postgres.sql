-- Migration 26 on PostgreSQL (see 0026_request_hash.sql): the same column, added to the calls
-- table, which passes it on to each of its partitions (migration 16). A store that has the
-- column already keeps it.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS request_hash TEXT;
