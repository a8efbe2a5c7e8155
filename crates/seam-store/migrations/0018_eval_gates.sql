-- Gate decisions (issue 24): what a gated deploy looks for. `candidate_release` and
-- `baseline_release` are the prompt releases each run's calls were served from (NULL when a
-- run's calls name none or more than one, as for a route run: such a decision gates no deploy);
-- `alpha` and `margin` are those the decision was made with.
CREATE TABLE IF NOT EXISTS eval_gates (
    id                TEXT PRIMARY KEY,
    created_ms        BIGINT NOT NULL,
    candidate_run     TEXT NOT NULL,
    baseline_run      TEXT NOT NULL,
    candidate_release TEXT,
    baseline_release  TEXT,
    dataset           TEXT NOT NULL,
    dataset_version   TEXT NOT NULL,
    decision          TEXT NOT NULL,
    alpha             DOUBLE PRECISION NOT NULL,
    margin            DOUBLE PRECISION NOT NULL,
    actor             TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS eval_gates_releases ON eval_gates (candidate_release, baseline_release);
