-- Migration 22 (see 0022_hours.sql for what and why); on PostgreSQL the triggers run once per
-- statement over its inserted rows (a transition table), one upsert per hour and group per batch.
-- Hourly rollups of the call records, for the dashboard and the reports over whole hours: per
-- hour (UTC, `created_ms - created_ms % 3600000`) of the call, what the calls table would sum
-- for that hour, kept by triggers on every row actually inserted (a duplicate skipped by
-- ON CONFLICT DO NOTHING fires none), so a read over N hours reads N hours' rows, not every
-- call (per tenant, key, route, deciding provider, purpose, outcome and error class or refusal
-- code). Attempts count in their call's hour, as the reports count them. Rows go with the
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

-- From now on, per INSERT statement: one upsert per group of the rows it inserted, in key
-- order (two writers' batches wait for each other instead of deadlocking).
CREATE OR REPLACE FUNCTION seam_call_hours_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_hours
    SELECT created_ms - created_ms % 3600000, tenant, COALESCE(key_id, ''), route,
        COALESCE(provider, ''), COALESCE(purpose, ''), outcome, COALESCE(error_class, ''), COUNT(*),
        SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END),
        SUM(attempts), SUM(budget_exhausted), SUM(input_tokens), SUM(output_tokens),
        SUM(cost_usd), SUM(tokens_estimated), SUM(unpriced)
    FROM new_calls GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (hour_ms, tenant, key_id, route, provider, purpose, outcome, error_class) DO UPDATE SET
        calls = call_hours.calls + excluded.calls,
        dispatched = call_hours.dispatched + excluded.dispatched,
        attempts = call_hours.attempts + excluded.attempts,
        budget_exhausted = call_hours.budget_exhausted + excluded.budget_exhausted,
        input_tokens = call_hours.input_tokens + excluded.input_tokens,
        output_tokens = call_hours.output_tokens + excluded.output_tokens,
        cost_usd = call_hours.cost_usd + excluded.cost_usd,
        estimated = call_hours.estimated + excluded.estimated,
        unpriced = call_hours.unpriced + excluded.unpriced;
    INSERT INTO attempt_hours
    SELECT created_ms - created_ms % 3600000, tenant, route, COALESCE(provider, ''),
        attempt_outcome, COALESCE(attempt_error_class, ''), COUNT(*), COUNT(*), SUM(cost_usd)
    FROM new_calls WHERE attempt_model IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (hour_ms, tenant, route, provider, outcome, error_class) DO UPDATE SET
        attempts = attempt_hours.attempts + excluded.attempts,
        first_attempts = attempt_hours.first_attempts + excluded.first_attempts,
        cost_usd = attempt_hours.cost_usd + excluded.cost_usd;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION seam_attempt_hours_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO attempt_hours
    SELECT h - h % 3600000, tenant, route, provider, outcome, error_class, COUNT(*),
        SUM(CASE WHEN seq = 1 THEN 1 ELSE 0 END), SUM(cost_usd)
    FROM (
        SELECT COALESCE(c.created_ms, a.created_ms) AS h, a.tenant, a.route, a.provider,
            a.outcome, COALESCE(a.error_class, '') AS error_class, a.seq, a.cost_usd
        FROM new_attempts a LEFT JOIN calls c ON c.id = a.call_id
    ) AS a GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (hour_ms, tenant, route, provider, outcome, error_class) DO UPDATE SET
        attempts = attempt_hours.attempts + excluded.attempts,
        first_attempts = attempt_hours.first_attempts + excluded.first_attempts,
        cost_usd = attempt_hours.cost_usd + excluded.cost_usd;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS call_hours_add ON calls;
CREATE TRIGGER call_hours_add AFTER INSERT ON calls REFERENCING NEW TABLE AS new_calls
    FOR EACH STATEMENT EXECUTE FUNCTION seam_call_hours_add();
DROP TRIGGER IF EXISTS attempt_hours_add ON attempts;
CREATE TRIGGER attempt_hours_add AFTER INSERT ON attempts REFERENCING NEW TABLE AS new_attempts
    FOR EACH STATEMENT EXECUTE FUNCTION seam_attempt_hours_add();
