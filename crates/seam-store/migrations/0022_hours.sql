-- Hourly rollups of the call records, for the dashboard and the reports over whole hours: per
-- hour of the call (UTC, `created_ms - created_ms % 3600000`), tenant, key, route, deciding
-- provider, purpose, outcome and error class (or refusal code), what the calls table sums for
-- them, so that a read over N hours reads N hours' rows, not every call. Attempts count in
-- their call's hour, as the reports count them. On SQLite the record writers add each batch's
-- rows in the batch's transaction, one upsert per group (`hours::deltas`; a trigger per row
-- cost ~27,000 instructions a call), a call already stored counting once. Rows go with the
-- records' retention (`retention.rs`).
CREATE TABLE IF NOT EXISTS call_hours (
    hour_ms          BIGINT NOT NULL,
    tenant           TEXT NOT NULL,
    key_id           TEXT NOT NULL,
    route            TEXT NOT NULL,
    provider         TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    error_class      TEXT NOT NULL,
    calls            BIGINT NOT NULL,
    dispatched       BIGINT NOT NULL,
    attempts         BIGINT NOT NULL,
    budget_exhausted BIGINT NOT NULL,
    input_tokens     BIGINT NOT NULL,
    output_tokens    BIGINT NOT NULL,
    cost_usd         DOUBLE PRECISION NOT NULL,
    estimated        BIGINT NOT NULL,
    unpriced         BIGINT NOT NULL,
    PRIMARY KEY (hour_ms, tenant, key_id, route, provider, purpose, outcome, error_class)
);
CREATE TABLE IF NOT EXISTS attempt_hours (
    hour_ms        BIGINT NOT NULL,
    tenant         TEXT NOT NULL,
    route          TEXT NOT NULL,
    provider       TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    error_class    TEXT NOT NULL,
    attempts       BIGINT NOT NULL,
    first_attempts BIGINT NOT NULL,
    cost_usd       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (hour_ms, tenant, route, provider, outcome, error_class)
);

-- What the store holds already.
INSERT INTO call_hours
SELECT created_ms - created_ms % 3600000, tenant, COALESCE(key_id, ''), route,
    COALESCE(provider, ''), COALESCE(purpose, ''), outcome, COALESCE(error_class, ''), COUNT(*), SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), SUM(attempts),
    SUM(budget_exhausted), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd),
    SUM(tokens_estimated), SUM(unpriced)
FROM calls GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
INSERT INTO attempt_hours
SELECT hour_ms, tenant, route, provider, outcome, error_class, COUNT(*),
    SUM(CASE WHEN seq = 1 THEN 1 ELSE 0 END), SUM(cost_usd)
FROM (
    SELECT c.created_ms - c.created_ms % 3600000 AS hour_ms, c.tenant, a.route, a.provider,
        a.outcome, COALESCE(a.error_class, '') AS error_class, a.seq, a.cost_usd
    FROM attempts a JOIN calls c ON c.id = a.call_id
    UNION ALL
    SELECT created_ms - created_ms % 3600000, tenant, route, COALESCE(provider, ''),
        attempt_outcome, COALESCE(attempt_error_class, ''), 1, cost_usd
    FROM calls WHERE attempt_model IS NOT NULL
) AS a GROUP BY 1, 2, 3, 4, 5, 6;
