-- Prompt releases, approvals and deploys (issue 5). Releases are content-addressed and
-- never change; deploys and rollbacks only ever add rows.
CREATE TABLE IF NOT EXISTS releases (
    id          TEXT PRIMARY KEY,
    prompt      TEXT NOT NULL,
    content     TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_ms  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS releases_prompt ON releases (prompt, created_ms);

CREATE TABLE IF NOT EXISTS approvals (
    release_id  TEXT NOT NULL,
    approver    TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (release_id, approver)
);

CREATE TABLE IF NOT EXISTS deploys (
    id          TEXT PRIMARY KEY,
    prompt      TEXT NOT NULL,
    channel     TEXT NOT NULL,
    release_id  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    created_ms  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS deploys_prompt ON deploys (prompt, channel, created_ms);
