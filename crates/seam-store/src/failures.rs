//! Silent failures (issue 29, docs/design/failures.md): the flags the failure signals put on
//! live calls, the feedback clients send about their calls, and the [`Failures`] trait that
//! reads calls for the detectors and the flags for the reports.

use crate::{CallRecord, ContentRecord, Result, Tenants};
use async_trait::async_trait;
use serde::Serialize;

/// What one failure signal found in one call. One per (call, signal): a re-run replaces it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagRecord {
    pub call_id: String,
    pub signal: String,
    /// JSON the detector writes (counts, ids, scores): never text a user sent.
    pub evidence: String,
    /// The call's time, so that a flag ages (and expires) with its call.
    pub created_ms: i64,
    pub tenant: String,
    pub route: String,
    pub release_id: Option<String>,
    pub session_id: Option<String>,
    pub trace_id: Option<String>,
}

/// A score a tenant's client sent about one of its calls, or one of its traces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackRecord {
    pub id: String,
    pub created_ms: i64,
    pub tenant: String,
    pub key_id: Option<String>,
    pub call_id: Option<String>,
    pub trace_id: Option<String>,
    pub score: f64,
    /// User content: cleared when captured content expires.
    pub comment: Option<String>,
}

/// Which flags to list: created in `[since_ms, until_ms)`, of one signal and route if given,
/// at most `limit` (1000 when not above 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagQuery {
    pub since_ms: i64,
    pub until_ms: i64,
    pub signal: Option<String>,
    pub route: Option<String>,
    pub limit: i64,
}

/// A call with its captured content, if it was captured (and has not expired).
#[derive(Debug, Clone, PartialEq)]
pub struct CallWithContent {
    pub call: CallRecord,
    pub content: Option<ContentRecord>,
}

/// What [`Failures::failure_counts_in`] groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureBy {
    Route,
    /// The call's release, `-` for calls served from none.
    Release,
    Tenant,
    /// The signal itself: every call counts in the one group `all`.
    Signal,
}

/// Distinct flagged calls of one group and signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureCount {
    pub group: String,
    pub signal: String,
    pub flagged: i64,
}

/// The denominators and numerators of failure rates over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FailureCounts {
    /// Per group: every live call in the period, flagged or not (ordered by group).
    pub calls: Vec<(String, i64)>,
    /// Per (group, signal): distinct flagged live calls (ordered by group, then signal).
    pub flagged: Vec<FailureCount>,
}

/// Flags and feedback, and the reads the failure detectors and reports need.
#[async_trait]
pub trait Failures: Send + Sync {
    /// Live calls created in [since_ms, until_ms), ordered by (created_ms, id), strictly
    /// after `after`, at most `limit`, each with its captured content.
    async fn signal_calls(
        &self,
        since_ms: i64,
        until_ms: i64,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<CallWithContent>>;
    /// Insert or replace on (call_id, signal). Returns rows written. Batches (one
    /// transaction).
    async fn upsert_flags(&self, flags: &[FlagRecord]) -> Result<u64>;
    /// Newest first (by time, then call id and signal).
    async fn list_flags_in(&self, q: &FlagQuery, tenants: &Tenants) -> Result<Vec<FlagRecord>>;
    /// Live calls and flagged live calls created in [since_ms, until_ms), per group.
    async fn failure_counts_in(
        &self,
        since_ms: i64,
        until_ms: i64,
        by: FailureBy,
        tenants: &Tenants,
    ) -> Result<FailureCounts>;
    /// Stores it only if its call_id (or trace_id: any call with that trace) exists AND
    /// belongs to f.tenant; Ok(false) otherwise (unknown and another tenant's are
    /// indistinguishable to the caller). An id already stored is an error.
    async fn insert_feedback(&self, f: &FeedbackRecord) -> Result<bool>;
    /// Created in [since_ms, until_ms), oldest first (by time, then id).
    async fn list_feedback_in(
        &self,
        since_ms: i64,
        until_ms: i64,
        tenants: &Tenants,
    ) -> Result<Vec<FeedbackRecord>>;
}
