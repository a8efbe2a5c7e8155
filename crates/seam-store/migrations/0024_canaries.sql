-- Canary runs (issue 27): one row per replay of a golden conversation (its `repeat` replays
-- graded together), kept as the dated record of what the deployed product did. `verdict` is
-- pass, flaky, fail or error; `trigger` manual, schedule, deploy or served_model_changed;
-- `golden_version` the SHA-256 of the golden's file when the run started; `detail` the run's
-- JSON (the diff against the golden and the changes since its recording). Runs are history:
-- retention does not delete them. The scheduler's lease is a row of `leases` (migration 16).
CREATE TABLE IF NOT EXISTS canary_runs (
    id             TEXT PRIMARY KEY,
    golden         TEXT NOT NULL,
    started_ms     BIGINT NOT NULL,
    finished_ms    BIGINT,
    verdict        TEXT NOT NULL,
    trigger        TEXT NOT NULL,
    release_id     TEXT,
    served_model   TEXT,
    golden_version TEXT NOT NULL,
    detail         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS canary_runs_golden_started ON canary_runs (golden, started_ms);
