-- Served-model drift (issue 5): every (served model, fingerprint) a provider has answered a
-- requested model with, and when Seam first saw it.
CREATE TABLE IF NOT EXISTS served_models (
    provider            TEXT NOT NULL,
    requested_model     TEXT NOT NULL,
    served_model        TEXT NOT NULL,
    system_fingerprint  TEXT NOT NULL,
    first_seen_ms       BIGINT NOT NULL,
    first_call_id       TEXT NOT NULL,
    PRIMARY KEY (provider, requested_model, served_model, system_fingerprint)
);
