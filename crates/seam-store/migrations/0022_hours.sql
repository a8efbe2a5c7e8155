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

-- From now on, one upsert per row inserted.
CREATE TRIGGER IF NOT EXISTS call_hours_add AFTER INSERT ON calls BEGIN
    INSERT INTO call_hours VALUES (NEW.created_ms - NEW.created_ms % 3600000, NEW.tenant,
        COALESCE(NEW.key_id, ''), NEW.route, COALESCE(NEW.provider, ''), COALESCE(NEW.purpose, ''),
        NEW.outcome, COALESCE(NEW.error_class, ''), 1,
        CASE WHEN NEW.attempts > 0 THEN 1 ELSE 0 END, NEW.attempts, NEW.budget_exhausted,
        NEW.input_tokens, NEW.output_tokens, NEW.cost_usd, NEW.tokens_estimated, NEW.unpriced)
    ON CONFLICT (hour_ms, tenant, key_id, route, provider, purpose, outcome, error_class) DO UPDATE SET
        calls = calls + 1, dispatched = dispatched + excluded.dispatched,
        attempts = attempts + excluded.attempts,
        budget_exhausted = budget_exhausted + excluded.budget_exhausted,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_usd = cost_usd + excluded.cost_usd, estimated = estimated + excluded.estimated,
        unpriced = unpriced + excluded.unpriced;
    INSERT INTO attempt_hours SELECT NEW.created_ms - NEW.created_ms % 3600000, NEW.tenant,
        NEW.route, COALESCE(NEW.provider, ''), NEW.attempt_outcome,
        COALESCE(NEW.attempt_error_class, ''), 1, 1, NEW.cost_usd
    WHERE NEW.attempt_model IS NOT NULL
    ON CONFLICT (hour_ms, tenant, route, provider, outcome, error_class) DO UPDATE SET
        attempts = attempts + 1, first_attempts = first_attempts + 1,
        cost_usd = cost_usd + excluded.cost_usd;
END;
CREATE TRIGGER IF NOT EXISTS attempt_hours_add AFTER INSERT ON attempts BEGIN
    INSERT INTO attempt_hours SELECT h - h % 3600000, NEW.tenant, NEW.route, NEW.provider,
        NEW.outcome, COALESCE(NEW.error_class, ''), 1, CASE WHEN NEW.seq = 1 THEN 1 ELSE 0 END,
        NEW.cost_usd
    FROM (SELECT COALESCE((SELECT created_ms FROM calls WHERE id = NEW.call_id), NEW.created_ms) AS h)
    WHERE true
    ON CONFLICT (hour_ms, tenant, route, provider, outcome, error_class) DO UPDATE SET
        attempts = attempts + 1, first_attempts = first_attempts + excluded.first_attempts,
        cost_usd = cost_usd + excluded.cost_usd;
END;
