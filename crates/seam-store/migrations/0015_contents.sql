-- Captured content (issue 23): what a call was asked and answered, for the routes and tenants
-- whose capture policy keeps it. One row per captured call, keyed by the call's id and written
-- in the same batch as the call. The body is opaque to the store: JSON (zstd-compressed when
-- large) in the format `format` names (seam-capture's `Content`), already redacted and truncated.
-- `BYTEA` is PostgreSQL's binary type; SQLite stores the blob as it is given.
CREATE TABLE IF NOT EXISTS contents (
    call_id    TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    format     BIGINT NOT NULL,
    -- The uncompressed JSON's size, and whether capture cut the content at `max_bytes`.
    bytes      BIGINT NOT NULL,
    truncated  BIGINT NOT NULL,
    -- How many spans redaction replaced, over all kinds (per kind: in the body).
    redactions BIGINT NOT NULL,
    body       BYTEA NOT NULL
);
-- Retention deletes by age.
CREATE INDEX IF NOT EXISTS contents_created ON contents (created_ms);
