-- Sessions pinned to releases (issue 6). A session is a client-chosen id, scoped to its
-- tenant and to the prompt channel it calls; it keeps the release it started on until it
-- expires, is moved by an `immediate` deploy, or is migrated on purpose.
ALTER TABLE deploys ADD COLUMN mode TEXT NOT NULL DEFAULT 'drain';

CREATE TABLE IF NOT EXISTS sessions (
    tenant      TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    prompt      TEXT NOT NULL,
    channel     TEXT NOT NULL,
    release_id  TEXT NOT NULL,
    started_ms  BIGINT NOT NULL,
    pinned_ms   BIGINT NOT NULL,
    last_ms     BIGINT NOT NULL,
    expires_ms  BIGINT NOT NULL,
    PRIMARY KEY (tenant, session_id, prompt, channel)
);
CREATE INDEX IF NOT EXISTS sessions_live ON sessions (expires_ms, release_id);
