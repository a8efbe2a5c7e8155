-- The value ledger (issue 26): one entry per gate decision, kept as history. `entry` is the
-- estimate's JSON (seam_evals::value::LedgerEntry): its numbers are estimates, computed
-- once when the decision was made from the records of that moment.
CREATE TABLE IF NOT EXISTS value_ledger (
    id              TEXT PRIMARY KEY,
    created_ms      BIGINT NOT NULL,
    gate_id         TEXT NOT NULL,
    prompt          TEXT NOT NULL,
    dataset         TEXT NOT NULL,
    dataset_version TEXT NOT NULL,
    decision        TEXT NOT NULL,
    entry           TEXT NOT NULL,
    actor           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS value_ledger_created ON value_ledger (created_ms);
