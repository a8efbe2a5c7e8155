-- Dashboard sign-in sessions (issue 25, docs/dashboard.md). A row per signed-in browser: only
-- the SHA-256 of the session id the cookie carries is kept, so that a copy of the store signs
-- no one in; the user it acts as (re-read with their roles on every request); the form token
-- (CSRF) every POST must carry; and when it expires. The same on both backends.
CREATE TABLE IF NOT EXISTS ui_sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ui_sessions_expires ON ui_sessions (expires_ms);
