//! The hourly rollups of the call records (migration 22): what the calls and attempts tables
//! would sum per hour, kept by the database's triggers as rows are inserted, so that a report
//! over whole hours reads a few rows per hour instead of every call. A window read from them
//! starts on an hour (`hour_floor`): the dashboard says so where it shows one.

use crate::reliability::{AttemptGroup, CallGroup};
use std::collections::BTreeMap;

pub const HOUR_MS: i64 = 3_600_000;

/// The start of the UTC hour `ms` falls in (a stored time can be any i64: the first hour
/// there is saturates at i64::MIN instead of overflowing).
pub fn hour_floor(ms: i64) -> i64 {
    ms.saturating_sub(ms.rem_euclid(HOUR_MS))
}

/// One hour's calls of one tenant, key, route, deciding provider, purpose, outcome and error
/// class (a failure's class or a refusal's code).
#[derive(Debug, Clone, PartialEq)]
pub struct CallHour {
    pub hour_ms: i64,
    pub tenant: String,
    /// Empty for calls without a key.
    pub key_id: String,
    pub route: String,
    /// Empty for a call that reached no provider.
    pub provider: String,
    /// Empty for live traffic.
    pub purpose: String,
    pub outcome: String,
    /// Empty for none.
    pub error_class: String,
    pub calls: i64,
    pub dispatched: i64,
    pub attempts: i64,
    pub budget_exhausted: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    /// Calls whose tokens were estimated.
    pub estimated: i64,
    pub unpriced: i64,
}

/// One hour's attempts (counted in their call's hour) of one tenant, route, provider,
/// outcome and error class (empty when none).
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptHour {
    pub hour_ms: i64,
    pub tenant: String,
    pub route: String,
    pub provider: String,
    pub outcome: String,
    pub error_class: String,
    pub attempts: i64,
    pub first_attempts: i64,
    pub cost_usd: f64,
}

/// The rollup rows of a window, hour by hour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hours {
    pub calls: Vec<CallHour>,
    pub attempts: Vec<AttemptHour>,
}

impl Hours {
    /// The reliability report's groups over the hours `keep` accepts: the same groups
    /// `Reports::reliability_in` makes from the calls of those hours.
    pub fn groups(&self, keep: impl Fn(i64) -> bool) -> (Vec<CallGroup>, Vec<AttemptGroup>) {
        let mut calls: BTreeMap<(&str, &str), CallGroup> = BTreeMap::new();
        for h in self.calls.iter().filter(|h| keep(h.hour_ms)) {
            let g = calls
                .entry((&h.route, &h.outcome))
                .or_insert_with(|| CallGroup {
                    route: h.route.clone(),
                    outcome: h.outcome.clone(),
                    calls: 0,
                    dispatched: 0,
                    attempts: 0,
                    cost_usd: 0.0,
                    budget_exhausted: 0,
                });
            g.calls += h.calls;
            g.dispatched += h.dispatched;
            g.attempts += h.attempts;
            g.cost_usd += h.cost_usd;
            g.budget_exhausted += h.budget_exhausted;
        }
        let mut attempts: BTreeMap<(&str, &str, &str, &str), AttemptGroup> = BTreeMap::new();
        for h in self.attempts.iter().filter(|h| keep(h.hour_ms)) {
            let g = attempts
                .entry((&h.route, &h.provider, &h.outcome, &h.error_class))
                .or_insert_with(|| AttemptGroup {
                    route: h.route.clone(),
                    provider: h.provider.clone(),
                    outcome: h.outcome.clone(),
                    error_class: h.error_class.clone(),
                    attempts: 0,
                    first_attempts: 0,
                    cost_usd: 0.0,
                });
            g.attempts += h.attempts;
            g.first_attempts += h.first_attempts;
            g.cost_usd += h.cost_usd;
        }
        (
            calls.into_values().collect(),
            attempts.into_values().collect(),
        )
    }
}

impl Hours {
    /// `Reports::usage_in` by tenant or route over these hours (`None` by trace: the rollups
    /// keep no trace), in the same order: live traffic first, then by cost, then by key.
    pub fn usage(&self, by: crate::UsageBy) -> Option<Vec<crate::UsageRow>> {
        let key_of = |h: &CallHour| match by {
            crate::UsageBy::Tenant => Some(h.tenant.clone()),
            crate::UsageBy::Route => Some(h.route.clone()),
            crate::UsageBy::Trace => None,
        };
        let mut groups: BTreeMap<(String, String), crate::UsageRow> = BTreeMap::new();
        for h in &self.calls {
            let key = key_of(h)?;
            let purpose = if h.purpose.is_empty() {
                seam_vocab::Purpose::Live
            } else {
                h.purpose.parse().ok()?
            };
            let g = groups
                .entry((key.clone(), h.purpose.clone()))
                .or_insert_with(|| crate::UsageRow {
                    key,
                    calls: 0,
                    refused: 0,
                    failed: 0,
                    attempts: 0,
                    input_tokens: 0,
                    output_tokens: 0,
                    cost_usd: 0.0,
                    tokens_estimated: false,
                    unpriced_calls: 0,
                    purpose,
                });
            g.calls += h.calls;
            if h.outcome == seam_vocab::Outcome::Refused.as_str() {
                g.refused += h.calls;
            }
            if h.outcome == seam_vocab::Outcome::Error.as_str() {
                g.failed += h.calls;
            }
            g.attempts += h.attempts;
            g.input_tokens += h.input_tokens;
            g.output_tokens += h.output_tokens;
            g.cost_usd += h.cost_usd;
            g.tokens_estimated |= h.estimated > 0;
            g.unpriced_calls += h.unpriced;
        }
        let mut rows: Vec<crate::UsageRow> = groups.into_values().collect();
        rows.sort_by(|a, b| {
            (!a.purpose.is_live())
                .cmp(&!b.purpose.is_live())
                .then_with(|| a.purpose.as_str().cmp(b.purpose.as_str()))
                .then_with(|| b.cost_usd.total_cmp(&a.cost_usd))
                .then_with(|| a.key.cmp(&b.key))
        });
        Some(rows)
    }

    /// `Reports::spend`'s windows (per tenant and key, dispatched calls only) for windows that
    /// start on an hour: a call that reached no provider has no tokens and no cost, so the
    /// rollups' sums are the limiter's.
    pub fn spend(&self, window_starts: &[i64]) -> Vec<crate::SpendRow> {
        let mut out = Vec::new();
        for &since in window_starts {
            let mut groups: BTreeMap<(&str, &str), crate::SpendRow> = BTreeMap::new();
            for h in self
                .calls
                .iter()
                .filter(|h| h.hour_ms >= since && h.dispatched > 0)
            {
                let g = groups
                    .entry((&h.tenant, &h.key_id))
                    .or_insert_with(|| crate::SpendRow {
                        since_ms: since,
                        tenant: h.tenant.clone(),
                        key_id: (!h.key_id.is_empty()).then(|| h.key_id.clone()),
                        requests: 0,
                        attempts: 0,
                        input_tokens: 0,
                        output_tokens: 0,
                        cost_usd: 0.0,
                        eval_cost_usd: 0.0,
                        canary_cost_usd: 0.0,
                    });
                g.requests += h.dispatched;
                g.attempts += h.attempts;
                g.input_tokens += h.input_tokens;
                g.output_tokens += h.output_tokens;
                g.cost_usd += h.cost_usd;
                if h.purpose == seam_vocab::Purpose::Eval.as_str() {
                    g.eval_cost_usd += h.cost_usd;
                } else if h.purpose == seam_vocab::Purpose::Canary.as_str() {
                    g.canary_cost_usd += h.cost_usd;
                }
            }
            out.extend(groups.into_values());
        }
        out
    }
}

/// The rollup rows a batch of newly stored records adds: each call in its hour, each attempt in
/// its call's hour (its own when its call is not in the batch). What the SQLite writers upsert
/// in the batch's transaction (PostgreSQL's triggers do the same from the rows inserted).
pub fn deltas(calls: &[&crate::CallRecord], attempts: &[&crate::AttemptRecord]) -> Hours {
    // Keys borrow from the records: a batch of hundreds of calls makes a few groups, and a
    // String per key part per call would cost more than the upserts.
    type CallKey<'a> = (
        i64,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
    );
    let mut by_call: BTreeMap<CallKey, CallHour> = BTreeMap::new();
    // Seam's own ids, so a fast hash (SipHash and the map's regrowth were ~1.5k instructions a
    // call, most of the rollup's work).
    let mut call_hour: std::collections::HashMap<&str, i64, foldhash::fast::RandomState> =
        std::collections::HashMap::with_capacity_and_hasher(calls.len(), Default::default());
    for c in calls {
        let hour_ms = hour_floor(c.created_ms);
        call_hour.insert(&c.id, hour_ms);
        let key = (
            hour_ms,
            c.tenant.as_str(),
            c.key_id.as_deref().unwrap_or(""),
            c.route.as_str(),
            c.provider.as_deref().unwrap_or(""),
            c.purpose.stored().unwrap_or(""),
            c.outcome.as_str(),
            c.error_class.map(|e| e.as_str()).unwrap_or(""),
        );
        let g = by_call.entry(key).or_insert_with(|| CallHour {
            hour_ms,
            tenant: key.1.to_string(),
            key_id: key.2.to_string(),
            route: key.3.to_string(),
            provider: key.4.to_string(),
            purpose: key.5.to_string(),
            outcome: key.6.to_string(),
            error_class: key.7.to_string(),
            calls: 0,
            dispatched: 0,
            attempts: 0,
            budget_exhausted: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 0.0,
            estimated: 0,
            unpriced: 0,
        });
        g.calls += 1;
        g.dispatched += i64::from(c.attempts > 0);
        g.attempts += c.attempts;
        g.budget_exhausted += i64::from(c.budget_exhausted);
        g.input_tokens += c.input_tokens;
        g.output_tokens += c.output_tokens;
        g.cost_usd += c.cost_usd;
        g.estimated += i64::from(c.tokens_estimated);
        g.unpriced += i64::from(c.unpriced);
    }
    type AttemptKey<'a> = (i64, &'a str, &'a str, &'a str, &'a str, &'a str);
    let mut by_attempt: BTreeMap<AttemptKey, AttemptHour> = BTreeMap::new();
    for a in attempts {
        let hour_ms = call_hour
            .get(a.call_id.as_str())
            .copied()
            .unwrap_or_else(|| hour_floor(a.created_ms));
        let key = (
            hour_ms,
            a.tenant.as_str(),
            a.route.as_str(),
            a.provider.as_str(),
            a.outcome.as_str(),
            a.error_class.map(|e| e.as_str()).unwrap_or(""),
        );
        let g = by_attempt.entry(key).or_insert_with(|| AttemptHour {
            hour_ms,
            tenant: key.1.to_string(),
            route: key.2.to_string(),
            provider: key.3.to_string(),
            outcome: key.4.to_string(),
            error_class: key.5.to_string(),
            attempts: 0,
            first_attempts: 0,
            cost_usd: 0.0,
        });
        g.attempts += 1;
        g.first_attempts += i64::from(a.seq == 1);
        g.cost_usd += a.cost_usd;
    }
    Hours {
        calls: by_call.into_values().collect(),
        attempts: by_attempt.into_values().collect(),
    }
}

/// Adds a call-hour row to the rollups (SQLite's writers; numbered parameters in
/// `CallHour`'s field order).
pub(crate) const UPSERT_CALL_HOUR: &str = "INSERT INTO call_hours (hour_ms, tenant, key_id, \
    route, provider, purpose, outcome, error_class, calls, dispatched, attempts, budget_exhausted, \
    input_tokens, output_tokens, cost_usd, estimated, unpriced) VALUES ($1, $2, $3, $4, $5, $6, \
    $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (hour_ms, tenant, key_id, \
    route, provider, purpose, outcome, error_class) DO UPDATE SET calls = calls + excluded.calls, \
    dispatched = dispatched + excluded.dispatched, attempts = attempts + excluded.attempts, \
    budget_exhausted = budget_exhausted + excluded.budget_exhausted, \
    input_tokens = input_tokens + excluded.input_tokens, \
    output_tokens = output_tokens + excluded.output_tokens, cost_usd = cost_usd + excluded.cost_usd, \
    estimated = estimated + excluded.estimated, unpriced = unpriced + excluded.unpriced";

/// Adds an attempt-hour row (parameters in `AttemptHour`'s field order).
pub(crate) const UPSERT_ATTEMPT_HOUR: &str = "INSERT INTO attempt_hours (hour_ms, tenant, route, \
    provider, outcome, error_class, attempts, first_attempts, cost_usd) VALUES ($1, $2, $3, $4, \
    $5, $6, $7, $8, $9) ON CONFLICT (hour_ms, tenant, route, provider, outcome, error_class) DO \
    UPDATE SET attempts = attempts + excluded.attempts, \
    first_attempts = first_attempts + excluded.first_attempts, cost_usd = cost_usd + excluded.cost_usd";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_start_on_the_hour_before_and_after_1970() {
        assert_eq!(
            hour_floor(1_767_225_600_000 + 59 * 60_000),
            1_767_225_600_000
        );
        assert_eq!(hour_floor(1_767_225_600_000), 1_767_225_600_000);
        assert_eq!(hour_floor(-1), -HOUR_MS);
        assert_eq!(hour_floor(i64::MIN), i64::MIN);
        assert_eq!(hour_floor(i64::MAX), i64::MAX - i64::MAX % HOUR_MS);
    }
}
