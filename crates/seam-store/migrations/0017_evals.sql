-- Eval runs (issue 24): a dataset's cases sent through the gateway to a target and graded.
-- `target_kind` is `route`, `prompt` (`target` is NAME@CHANNEL) or `release` (a release id);
-- `served_models` is a JSON array of the models the gateway said served the run's calls.
-- A run is `running` until it ends `complete` or `interrupted` (Ctrl-C; `--resume` finishes it).
CREATE TABLE IF NOT EXISTS eval_runs (
    id              TEXT PRIMARY KEY,
    created_ms      BIGINT NOT NULL,
    finished_ms     BIGINT,
    dataset         TEXT NOT NULL,
    dataset_version TEXT NOT NULL,
    target_kind     TEXT NOT NULL,
    target          TEXT NOT NULL,
    served_models   TEXT NOT NULL,
    repeats         BIGINT NOT NULL,
    cases           BIGINT NOT NULL,
    status          TEXT NOT NULL,
    actor           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS eval_runs_created ON eval_runs (created_ms);
-- One (case, repeat) of a run: its verdict, score, the grades behind them (JSON), and the call
-- that answered it. Written as results arrive; a result already stored is kept.
CREATE TABLE IF NOT EXISTS eval_results (
    run_id       TEXT NOT NULL,
    case_id      TEXT NOT NULL,
    repeat_index BIGINT NOT NULL,
    created_ms   BIGINT NOT NULL,
    verdict      TEXT NOT NULL,
    score        DOUBLE PRECISION,
    reasons      TEXT NOT NULL,
    call_id      TEXT,
    latency_ms   BIGINT,
    cost_usd     DOUBLE PRECISION,
    PRIMARY KEY (run_id, case_id, repeat_index)
);
