//! Eval runs and their results (issue 24): the records and the [`Evals`] trait.

use crate::Result;
use async_trait::async_trait;
use seam_vocab::{EvalStatus, EvalVerdict};
use serde::Serialize;

/// One eval run: a dataset (at a version) sent to a target through the gateway.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalRunRecord {
    pub id: String,
    pub created_ms: i64,
    pub finished_ms: Option<i64>,
    /// The dataset's name (its file name without `.jsonl`).
    pub dataset: String,
    /// The SHA-256 of the dataset's canonical content when the run started.
    pub dataset_version: String,
    /// `route`, `prompt` or `release`.
    pub target_kind: String,
    /// The route's name, `NAME@CHANNEL`, or the release id.
    pub target: String,
    /// The models the gateway said served the run's calls, sorted, each once.
    pub served_models: Vec<String>,
    /// How many times each case is sent.
    pub repeats: i64,
    /// How many cases the dataset had: with `repeats`, the results a complete run has.
    pub cases: i64,
    pub status: EvalStatus,
    /// Who started it (the acting user's name).
    pub actor: String,
}

/// One (case, repeat) of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalResultRecord {
    pub run_id: String,
    pub case_id: String,
    /// 0-based.
    pub repeat_index: i64,
    pub created_ms: i64,
    pub verdict: EvalVerdict,
    pub score: Option<f64>,
    /// The grades behind the verdict, as JSON.
    pub reasons: String,
    /// The gateway's id of the call that answered (absent when the call failed before one).
    pub call_id: Option<String>,
    pub latency_ms: Option<i64>,
    pub cost_usd: Option<f64>,
    /// The SHA-256 of the graded case's canonical JSON (None for results stored before
    /// migration 19): what `seam dataset diff` compares a dataset's current cases with.
    pub case_hash: Option<String>,
}

/// One `seam eval gate` decision, kept so that a gated deploy can find it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalGateRecord {
    pub id: String,
    pub created_ms: i64,
    pub candidate_run: String,
    pub baseline_run: String,
    /// The release the candidate run's calls were served from (None: none, or several).
    pub candidate_release: Option<String>,
    pub baseline_release: Option<String>,
    pub dataset: String,
    pub dataset_version: String,
    /// `pass`, `fail` or `inconclusive`.
    pub decision: String,
    /// The significance level and margin the decision was made with.
    pub alpha: f64,
    pub margin: f64,
    pub actor: String,
}

/// One entry of the value ledger: what a gate decision is estimated to have been worth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueEntryRecord {
    pub id: String,
    pub created_ms: i64,
    /// The `eval_gates` decision it is about.
    pub gate_id: String,
    /// The prompt of the releases gated (empty when the runs named none).
    pub prompt: String,
    pub dataset: String,
    pub dataset_version: String,
    /// `pass`, `fail` or `inconclusive`.
    pub decision: String,
    /// The estimate, as JSON (`seam_evals::value::LedgerEntry`).
    pub entry: String,
    pub actor: String,
}

/// Eval runs and their results.
#[async_trait]
pub trait Evals: Send + Sync {
    /// Stores a new run; an id already stored is an error.
    async fn insert_eval_run(&self, run: &EvalRunRecord) -> Result<()>;
    /// Sets a run's status, end time and served models; false for an unknown run.
    async fn set_eval_run_status(
        &self,
        id: &str,
        status: EvalStatus,
        finished_ms: Option<i64>,
        served_models: &[String],
    ) -> Result<bool>;
    /// Stores results; one already stored for its (run, case, repeat) is kept as it was,
    /// unless it was an `error` (a resumed run's second try replaces it). Returns how many
    /// were new or replaced.
    async fn insert_eval_results(&self, results: &[EvalResultRecord]) -> Result<u64>;
    /// Every run, newest first.
    async fn list_eval_runs(&self) -> Result<Vec<EvalRunRecord>>;
    /// A run and its results, by case id then repeat.
    async fn get_eval_run(
        &self,
        id: &str,
    ) -> Result<Option<(EvalRunRecord, Vec<EvalResultRecord>)>>;
    /// Stores a gate decision.
    async fn insert_eval_gate(&self, gate: &EvalGateRecord) -> Result<()>;
    /// The decisions with this candidate and baseline release, newest first.
    async fn eval_gates_between(
        &self,
        candidate_release: &str,
        baseline_release: &str,
    ) -> Result<Vec<EvalGateRecord>>;
    /// Stores a value ledger entry.
    async fn insert_value_entry(&self, entry: &ValueEntryRecord) -> Result<()>;
    /// How many live calls (not eval traffic) were served from `release_id` from `since_ms`
    /// (inclusive) to `until_ms` (exclusive): the traffic a ledger entry is estimated from.
    async fn live_calls_of_release(
        &self,
        release_id: &str,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<u64>;
    /// The entries made from `since_ms` (inclusive) to `until_ms` (exclusive), oldest first.
    async fn value_entries(&self, since_ms: i64, until_ms: i64) -> Result<Vec<ValueEntryRecord>>;
}
