-- A call's only attempt is usually everything the call row already says, plus a few fields of
-- its own: the record writer may keep those in the call's row instead of writing an attempts
-- row (one row and one index entry fewer per call). Readers see every attempt, wherever it is
-- kept, through the attempt_rows view. Calls whose attempt_model is NULL keep their attempts
-- (none, one or many) in attempts.
ALTER TABLE calls ADD COLUMN attempt_model TEXT;
ALTER TABLE calls ADD COLUMN attempt_created_ms BIGINT;
ALTER TABLE calls ADD COLUMN attempt_status INTEGER;
ALTER TABLE calls ADD COLUMN attempt_outcome TEXT;
ALTER TABLE calls ADD COLUMN attempt_error_class TEXT;
ALTER TABLE calls ADD COLUMN attempt_error_body TEXT;
ALTER TABLE calls ADD COLUMN attempt_latency_ms DOUBLE PRECISION;
ALTER TABLE calls ADD COLUMN attempt_ttfb_ms DOUBLE PRECISION;

-- An attempt kept in its call's row is attempt 1, its id derived from the call's as the
-- gateway derives it (att_ + the call id without its call_ prefix + _1).
CREATE VIEW attempt_rows AS
SELECT id, call_id, seq, created_ms, tenant, trace_id, route, provider, model, served_model,
    system_fingerprint, status, outcome, error_class, error_body, latency_ms, ttfb_ms,
    input_tokens, output_tokens, cost_usd, tokens_estimated
FROM attempts
UNION ALL
SELECT 'att_' || CASE WHEN substr(id, 1, 5) = 'call_' THEN substr(id, 6) ELSE id END || '_1',
    id, 1, attempt_created_ms, tenant, trace_id, route, provider, attempt_model, served_model,
    system_fingerprint, attempt_status, attempt_outcome, attempt_error_class, attempt_error_body,
    attempt_latency_ms, attempt_ttfb_ms, input_tokens, output_tokens, cost_usd, tokens_estimated
FROM calls
WHERE attempt_model IS NOT NULL;
