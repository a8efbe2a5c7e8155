-- Control-plane identity and the audit chain (issue 5).
CREATE TABLE IF NOT EXISTS users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token_hash  TEXT NOT NULL UNIQUE,
    admin       INTEGER NOT NULL,
    created_ms  BIGINT NOT NULL
);

-- Every control-plane action, each record chained to the one before by hash.
CREATE TABLE IF NOT EXISTS audit (
    seq         BIGINT PRIMARY KEY,
    created_ms  BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    before      TEXT,
    after       TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
