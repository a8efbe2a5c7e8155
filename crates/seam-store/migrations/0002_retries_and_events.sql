-- Retry accounting (issue 3) and traces (issue 4): attempts know their route, calls whether the retry budget
-- refused them; the change timeline starts with an events table.
ALTER TABLE attempts ADD COLUMN route TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN budget_exhausted INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS calls_trace ON calls (trace_id);

CREATE TABLE IF NOT EXISTS events (
    id          TEXT PRIMARY KEY,
    created_ms  BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    route       TEXT,
    provider    TEXT,
    message     TEXT NOT NULL,
    details     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_created ON events (created_ms);
