-- Per-stream telemetry (issue 7): what the client saw of one streamed call.
CREATE TABLE IF NOT EXISTS streams (
    call_id          TEXT PRIMARY KEY,
    created_ms       BIGINT NOT NULL,
    route            TEXT NOT NULL,
    provider         TEXT NOT NULL,
    served_model     TEXT,
    ttfc_ms          DOUBLE PRECISION,
    ttft_ms          DOUBLE PRECISION,
    chunks           BIGINT NOT NULL,
    content_chunks   BIGINT NOT NULL,
    chars            BIGINT NOT NULL,
    chars_p50        DOUBLE PRECISION NOT NULL,
    tokens_per_chunk DOUBLE PRECISION NOT NULL,
    gap_p50_ms       DOUBLE PRECISION NOT NULL,
    gap_p95_ms       DOUBLE PRECISION NOT NULL,
    gap_max_ms       DOUBLE PRECISION NOT NULL,
    stalls           BIGINT NOT NULL,
    output_tokens    BIGINT NOT NULL,
    tokens_per_sec   DOUBLE PRECISION,
    client_closed    BIGINT NOT NULL,
    rechunked        BIGINT NOT NULL,
    slo              TEXT
);
CREATE INDEX IF NOT EXISTS streams_created ON streams (created_ms);
