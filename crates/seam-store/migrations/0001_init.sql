-- Keys, calls and attempts. Portable SQL: runs on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS keys (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    name        TEXT,
    prefix      TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    created_ms  BIGINT NOT NULL,
    revoked_ms  BIGINT
);

CREATE TABLE IF NOT EXISTS calls (
    id                 TEXT PRIMARY KEY,
    created_ms         BIGINT NOT NULL,
    tenant             TEXT NOT NULL,
    key_id             TEXT,
    trace_id           TEXT,
    session_id         TEXT,
    endpoint           TEXT NOT NULL,
    route              TEXT NOT NULL,
    stream             INTEGER NOT NULL,
    requested_model    TEXT NOT NULL,
    provider           TEXT,
    served_model       TEXT,
    system_fingerprint TEXT,
    status             INTEGER NOT NULL,
    outcome            TEXT NOT NULL,
    error_class        TEXT,
    error_message      TEXT,
    attempts           INTEGER NOT NULL,
    latency_ms         DOUBLE PRECISION NOT NULL,
    ttfb_ms            DOUBLE PRECISION,
    input_tokens       BIGINT NOT NULL,
    output_tokens      BIGINT NOT NULL,
    cost_usd           DOUBLE PRECISION NOT NULL,
    tokens_estimated   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_created ON calls (created_ms);

CREATE TABLE IF NOT EXISTS attempts (
    id                 TEXT PRIMARY KEY,
    call_id            TEXT NOT NULL,
    seq                INTEGER NOT NULL,
    created_ms         BIGINT NOT NULL,
    tenant             TEXT NOT NULL,
    trace_id           TEXT,
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
    tokens_estimated   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_call ON attempts (call_id);
