-- Reports that stay true (issue 20): a call records the prompt release it was served from (so
-- calls can be filtered by release), and every call and attempt whether tokens of it had no
-- price in [prices] (its cost then counts none of them: "unpriced", not a true $0). Records
-- from before this migration read as priced and of no release.
ALTER TABLE calls ADD COLUMN release_id TEXT;
ALTER TABLE calls ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;

-- The view of every attempt, wherever it is kept (migration 10), with the new flag: an attempt
-- kept in its call's row is its call's only one, so the call's flag is the attempt's.
DROP VIEW attempt_rows;
CREATE VIEW attempt_rows AS
SELECT id, call_id, seq, created_ms, tenant, trace_id, route, provider, model, served_model,
    system_fingerprint, status, outcome, error_class, error_body, latency_ms, ttfb_ms,
    input_tokens, output_tokens, cost_usd, tokens_estimated, unpriced
FROM attempts
UNION ALL
SELECT 'att_' || CASE WHEN substr(id, 1, 5) = 'call_' THEN substr(id, 6) ELSE id END || '_1',
    id, 1, attempt_created_ms, tenant, trace_id, route, provider, attempt_model, served_model,
    system_fingerprint, attempt_status, attempt_outcome, attempt_error_class, attempt_error_body,
    attempt_latency_ms, attempt_ttfb_ms, input_tokens, output_tokens, cost_usd, tokens_estimated,
    unpriced
FROM calls
WHERE attempt_model IS NOT NULL;
