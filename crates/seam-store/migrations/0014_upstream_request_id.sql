-- Provider errors and headers passed through (issue 22): every call and attempt keeps the id
-- the upstream gave its request (`x-request-id`, Anthropic's `request-id`), as a provider's
-- support asks for it; a call's is its answering (or last failed) attempt's. Records from
-- before this migration, and attempts that got no answer, have none.
ALTER TABLE calls ADD COLUMN upstream_request_id TEXT;
ALTER TABLE attempts ADD COLUMN upstream_request_id TEXT;

-- The view of every attempt, wherever it is kept (migration 10), with the new column: an
-- attempt kept in its call's row is its call's only one, so the call's id is the attempt's.
DROP VIEW attempt_rows;
CREATE VIEW attempt_rows AS
SELECT id, call_id, seq, created_ms, tenant, trace_id, route, provider, model, served_model,
    system_fingerprint, status, outcome, error_class, error_body, latency_ms, ttfb_ms,
    input_tokens, output_tokens, cost_usd, tokens_estimated, unpriced, upstream_request_id
FROM attempts
UNION ALL
SELECT 'att_' || CASE WHEN substr(id, 1, 5) = 'call_' THEN substr(id, 6) ELSE id END || '_1',
    id, 1, attempt_created_ms, tenant, trace_id, route, provider, attempt_model, served_model,
    system_fingerprint, attempt_status, attempt_outcome, attempt_error_class, attempt_error_body,
    attempt_latency_ms, attempt_ttfb_ms, input_tokens, output_tokens, cost_usd, tokens_estimated,
    unpriced, upstream_request_id
FROM calls
WHERE attempt_model IS NOT NULL;
