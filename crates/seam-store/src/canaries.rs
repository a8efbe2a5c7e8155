//! Canary runs (issue 27): the record of each replay of a golden conversation, and the
//! [`Canaries`] trait. The runs are history, dated: retention leaves them (docs/canaries.md).

use crate::Result;
use async_trait::async_trait;
use seam_vocab::{CanaryTrigger, CanaryVerdict};
use serde::Serialize;

/// One canary run: a golden replayed `repeat` times against what its channel served then.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanaryRunRecord {
    /// `cnr_...`.
    pub id: String,
    /// The golden's name (its file name without the extension).
    pub golden: String,
    pub started_ms: i64,
    /// None while it runs (or when its process died before it finished).
    pub finished_ms: Option<i64>,
    pub verdict: CanaryVerdict,
    pub trigger: CanaryTrigger,
    /// The release the replay was served from (None for a plain route, or several).
    pub release_id: Option<String>,
    /// The model the provider said served the replay.
    pub served_model: Option<String>,
    /// The SHA-256 of the golden's file when the run started.
    pub golden_version: String,
    /// The run's detail as JSON: the diff against the golden and what changed since it was
    /// recorded. The store keeps it as given.
    pub detail: String,
}

/// Canary runs, and the lease that lets one gateway of several run each scheduled replay.
#[async_trait]
pub trait Canaries: Send + Sync {
    /// Stores a run; an id already stored is an error.
    async fn insert_canary_run(&self, run: &CanaryRunRecord) -> Result<()>;
    /// The runs of `golden` (every golden's when None), newest first (by start, then id), at
    /// most `limit`.
    async fn canary_runs(&self, golden: Option<&str>, limit: usize)
    -> Result<Vec<CanaryRunRecord>>;
    /// The newest run of each golden, by golden name.
    async fn last_canary_runs(&self) -> Result<Vec<CanaryRunRecord>>;
    /// The newest run of `golden` whose verdict is `pass`.
    async fn last_canary_pass(&self, golden: &str) -> Result<Option<CanaryRunRecord>>;
    /// Takes the lease `name` for `holder` until `now_ms + ttl_ms` when it is free, expired,
    /// or already `holder`'s (then it is extended); true when `holder` has it now. Atomic: of
    /// holders racing for a free lease, exactly one gets it. The same `leases` rows as
    /// [`crate::Retention::take_lease`]: name a canary's lease apart (`canary:GOLDEN`).
    async fn try_lease(&self, name: &str, holder: &str, now_ms: i64, ttl_ms: i64) -> Result<bool>;
}
