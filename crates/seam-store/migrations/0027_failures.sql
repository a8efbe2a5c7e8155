-- Silent failures (issue 29). `flags`: what the failure signals found in a live call, one row
-- per call and signal (a re-run replaces it). `evidence` is JSON the detector writes (counts,
-- ids, scores), never text a user sent. `created_ms` is the call's time, so that a flag ages
-- with its call; tenant, route, release, session and trace are copied from the call so that
-- the reports group flags without reading calls.
CREATE TABLE IF NOT EXISTS flags (
    call_id    TEXT NOT NULL,
    signal     TEXT NOT NULL,
    evidence   TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    tenant     TEXT NOT NULL,
    route      TEXT NOT NULL,
    release_id TEXT,
    session_id TEXT,
    trace_id   TEXT,
    PRIMARY KEY (call_id, signal)
);
CREATE INDEX IF NOT EXISTS flags_tenant_created ON flags (tenant, created_ms);
-- Retention deletes by age, every tenant's.
CREATE INDEX IF NOT EXISTS flags_created ON flags (created_ms);

-- `feedback`: a score (and perhaps a comment) a tenant's client sent about one of its calls
-- or traces. The comment is user content: retention of captured content clears it.
CREATE TABLE IF NOT EXISTS feedback (
    id         TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    tenant     TEXT NOT NULL,
    key_id     TEXT,
    call_id    TEXT,
    trace_id   TEXT,
    score      DOUBLE PRECISION NOT NULL,
    comment    TEXT
);
CREATE INDEX IF NOT EXISTS feedback_tenant_created ON feedback (tenant, created_ms);
CREATE INDEX IF NOT EXISTS feedback_call ON feedback (call_id);
CREATE INDEX IF NOT EXISTS feedback_trace ON feedback (trace_id);
CREATE INDEX IF NOT EXISTS feedback_created ON feedback (created_ms);
