-- Usage history from before Seam (`seam usage import`): hourly totals per tenant, route and
-- key ('' when the file names none). Kept apart from `call_hours` because retention deletes
-- those; retention never deletes these. Re-importing an hour replaces its row.
CREATE TABLE IF NOT EXISTS imported_hours (
    hour_ms       BIGINT NOT NULL,
    tenant        TEXT NOT NULL,
    route         TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    input_tokens  BIGINT NOT NULL CHECK (input_tokens >= 0),
    output_tokens BIGINT NOT NULL CHECK (output_tokens >= 0),
    cost_usd      DOUBLE PRECISION NOT NULL CHECK (cost_usd >= 0),
    calls         BIGINT NOT NULL CHECK (calls >= 0),
    PRIMARY KEY (hour_ms, tenant, route, key_id)
);
