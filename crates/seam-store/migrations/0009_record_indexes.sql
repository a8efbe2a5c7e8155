-- Fewer index entries per recorded call (each is a B-tree insert on the record writer's path).
-- Attempts are only ever read by their call, in order: one key, (call_id, seq), replaces the
-- attempt id's own index and the index on call_id. The id stays as a column (it is derived
-- from the call's id and seq, so it stays unique).
CREATE TABLE attempts_v2 (
    id                 TEXT NOT NULL,
    call_id            TEXT NOT NULL,
    seq                INTEGER NOT NULL,
    created_ms         BIGINT NOT NULL,
    tenant             TEXT NOT NULL,
    trace_id           TEXT,
    route              TEXT NOT NULL DEFAULT '',
    provider           TEXT NOT NULL,
    model              TEXT NOT NULL,
    served_model       TEXT,
    system_fingerprint TEXT,
    status             INTEGER,
    outcome            TEXT NOT NULL,
    error_class        TEXT,
    error_body         TEXT,
    latency_ms         DOUBLE PRECISION NOT NULL,
    ttfb_ms            DOUBLE PRECISION,
    input_tokens       BIGINT NOT NULL,
    output_tokens      BIGINT NOT NULL,
    cost_usd           DOUBLE PRECISION NOT NULL,
    tokens_estimated   INTEGER NOT NULL,
    PRIMARY KEY (call_id, seq)
);
INSERT INTO attempts_v2 (id, call_id, seq, created_ms, tenant, trace_id, route, provider, model,
    served_model, system_fingerprint, status, outcome, error_class, error_body, latency_ms, ttfb_ms,
    input_tokens, output_tokens, cost_usd, tokens_estimated)
SELECT id, call_id, seq, created_ms, tenant, trace_id, route, provider, model,
    served_model, system_fingerprint, status, outcome, error_class, error_body, latency_ms, ttfb_ms,
    input_tokens, output_tokens, cost_usd, tokens_estimated
FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_v2 RENAME TO attempts;

-- Most calls are a trace of their own (trace_id = id) and are found by their id; only calls
-- in a named trace need an entry in the trace index.
DROP INDEX IF EXISTS calls_trace;
CREATE INDEX calls_trace ON calls (trace_id) WHERE trace_id <> id;
