//! What limits count, re-read from the records: after a restart (in-process counters) or when
//! Redis comes back empty, the gateway re-seeds its windows and open traces from these, so
//! that what a tenant spent stays spent.
//!
//! Read from the `calls` rows alone: a call row carries its attempts' count and the sum of
//! their tokens and cost (failed attempts included), which is what the limits counted, so no
//! attempt rows (inline or not) need reading.

use serde::Serialize;

/// Which windows, up to when.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendQuery {
    /// The start of each window to total (ms): one set of rows per start.
    pub window_starts: Vec<i64>,
    /// Only calls that started before this: what the live counters have not counted.
    pub until_ms: i64,
    /// Named traces with a call at or after this (and before `until_ms`) are open.
    pub traces_since_ms: i64,
}

/// What one key of one tenant (or calls without a key) spent from `since_ms` to the query's
/// `until_ms`, counting only calls that reached a provider (at least one attempt): a call
/// refused before any attempt was never counted as a request either.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendRow {
    pub since_ms: i64,
    pub tenant: String,
    pub key_id: Option<String>,
    pub requests: i64,
    pub attempts: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    /// The part of `cost_usd` spent by eval traffic (`x-seam-purpose: eval`), which cost
    /// limits do not count unless `[evals] count_in_budgets` says so.
    pub eval_cost_usd: f64,
    /// The part spent by canary replays (`x-seam-purpose: canary`), which cost limits do not
    /// count unless `[canaries] count_in_budgets` says so.
    pub canary_cost_usd: f64,
}

impl SpendRow {
    /// The cost the cost limits count: live traffic's, and eval or canary traffic's only when
    /// configured to count (`Limits::count_evals_in_cost`, `count_canaries_in_cost`).
    pub fn counted_cost(&self, evals: bool, canaries: bool) -> f64 {
        let mut skipped = 0.0;
        if !evals {
            skipped += self.eval_cost_usd;
        }
        if !canaries {
            skipped += self.canary_cost_usd;
        }
        // Never below 0: the parts are summed apart and may round past the total.
        (self.cost_usd - skipped).max(0.0)
    }
}

/// A named trace of one tenant that is still open: all its calls before `until_ms`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceSpend {
    pub tenant: String,
    pub trace_id: String,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Calls that reached a provider.
    pub calls: i64,
    pub attempts: i64,
    /// Input plus output tokens.
    pub tokens: i64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Spend {
    pub windows: Vec<SpendRow>,
    pub traces: Vec<TraceSpend>,
}
