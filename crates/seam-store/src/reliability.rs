//! The reliability report: both sides of the retry knob at once. Every figure says whether
//! it counts calls (what clients saw, post-retry) or attempts (what providers saw and
//! billed, pre-retry).

use seam_vocab::Outcome;
use serde::Serialize;
use std::collections::BTreeMap;

/// One group of attempts, as the store aggregates them.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptGroup {
    pub route: String,
    pub provider: String,
    pub outcome: String,
    pub error_class: String,
    pub attempts: i64,
    /// How many of them were their call's first attempt.
    pub first_attempts: i64,
    pub cost_usd: f64,
}

/// One group of calls, as the store aggregates them.
#[derive(Debug, Clone, PartialEq)]
pub struct CallGroup {
    pub route: String,
    pub outcome: String,
    pub calls: i64,
    /// Calls that made at least one upstream attempt.
    pub dispatched: i64,
    pub attempts: i64,
    pub cost_usd: f64,
    pub budget_exhausted: i64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RouteReliability {
    pub route: String,
    /// Per call, post-retry: calls by the outcome the client saw.
    pub calls_by_outcome: BTreeMap<String, i64>,
    /// Per call: calls that made at least one upstream attempt (the denominator below).
    pub calls_dispatched: i64,
    /// Per call, pre-retry: share of calls whose first attempt failed.
    pub first_attempt_error_rate: f64,
    /// Per call, post-retry: share of calls that failed after all retries and fallbacks.
    pub final_error_rate: f64,
    /// Per attempt: attempts sent upstream.
    pub attempts: i64,
    /// Attempts per dispatched call.
    pub retry_amplification: f64,
    /// Per attempt: USD over all attempts, failed ones included.
    pub cost_usd: f64,
    /// Per attempt: USD of failed attempts.
    pub failed_attempts_cost_usd: f64,
    /// Share of the cost spent on failed attempts.
    pub retry_tax: f64,
    /// Per call: USD per successful call, its failed attempts included.
    pub cost_per_successful_call_usd: f64,
    /// Per call: calls failed fast because the retry budget was spent.
    pub budget_refusals: i64,
    pub providers: Vec<ProviderReliability>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ProviderReliability {
    pub provider: String,
    /// Per attempt, pre-retry: attempts by outcome.
    pub attempts_by_outcome: BTreeMap<String, i64>,
    /// Per attempt: failed attempts by error class.
    pub errors_by_class: BTreeMap<String, i64>,
    /// Per attempt: share of attempts that failed.
    pub attempt_error_rate: f64,
    /// Per call, pre-retry: first attempts sent here, and the share that failed.
    pub first_attempts: i64,
    pub first_attempt_error_rate: f64,
    pub cost_usd: f64,
    pub failed_attempts_cost_usd: f64,
}

fn ratio(n: f64, d: f64) -> f64 {
    if d > 0.0 { n / d } else { 0.0 }
}

/// Calls recorded without a route: rejected before one was resolved (an unknown model, an
/// invalid or oversized request). They reached no provider, so they have no place in a
/// route's figures; the report counts them apart.
pub fn unrouted(calls: &[CallGroup]) -> i64 {
    calls
        .iter()
        .filter(|c| c.route.is_empty())
        .map(|c| c.calls)
        .sum()
}

/// Builds the report from the store's aggregates: one entry per route (calls without one are
/// [`unrouted`]).
pub fn report(calls: &[CallGroup], attempts: &[AttemptGroup]) -> Vec<RouteReliability> {
    let mut routes: BTreeMap<String, RouteReliability> = BTreeMap::new();
    for c in calls.iter().filter(|c| !c.route.is_empty()) {
        let r = routes.entry(c.route.clone()).or_default();
        r.route = c.route.clone();
        *r.calls_by_outcome.entry(c.outcome.clone()).or_default() += c.calls;
        r.calls_dispatched += c.dispatched;
        r.budget_refusals += c.budget_exhausted;
        if c.outcome == Outcome::Ok.as_str() {
            r.cost_per_successful_call_usd += c.cost_usd;
        }
    }
    let mut providers: BTreeMap<(String, String), ProviderReliability> = BTreeMap::new();
    let mut first_errors: BTreeMap<String, i64> = BTreeMap::new();
    // An attempt always has its call's route; one without (a record from a writer that lost
    // it) has no route to count under either.
    for a in attempts.iter().filter(|a| !a.route.is_empty()) {
        let r = routes.entry(a.route.clone()).or_default();
        r.route = a.route.clone();
        r.attempts += a.attempts;
        r.cost_usd += a.cost_usd;
        let p = providers
            .entry((a.route.clone(), a.provider.clone()))
            .or_default();
        p.provider = a.provider.clone();
        *p.attempts_by_outcome.entry(a.outcome.clone()).or_default() += a.attempts;
        p.first_attempts += a.first_attempts;
        p.cost_usd += a.cost_usd;
        if a.outcome != Outcome::Ok.as_str() {
            r.failed_attempts_cost_usd += a.cost_usd;
            p.failed_attempts_cost_usd += a.cost_usd;
            *p.errors_by_class.entry(a.error_class.clone()).or_default() += a.attempts;
            *first_errors.entry(a.route.clone()).or_default() += a.first_attempts;
            // Per provider: first-attempt errors, kept in the rate's numerator for now.
            p.first_attempt_error_rate += a.first_attempts as f64;
        }
    }
    for ((route, _), mut p) in providers {
        let total: i64 = p.attempts_by_outcome.values().sum();
        let failed = total
            - p.attempts_by_outcome
                .get(Outcome::Ok.as_str())
                .copied()
                .unwrap_or(0);
        p.attempt_error_rate = ratio(failed as f64, total as f64);
        p.first_attempt_error_rate = ratio(p.first_attempt_error_rate, p.first_attempts as f64);
        if let Some(r) = routes.get_mut(&route) {
            r.providers.push(p);
        }
    }
    for r in routes.values_mut() {
        let d = r.calls_dispatched as f64;
        let failed_calls = r
            .calls_by_outcome
            .get(Outcome::Error.as_str())
            .copied()
            .unwrap_or(0);
        let ok_calls = r
            .calls_by_outcome
            .get(Outcome::Ok.as_str())
            .copied()
            .unwrap_or(0);
        r.first_attempt_error_rate =
            ratio(first_errors.get(&r.route).copied().unwrap_or(0) as f64, d);
        r.final_error_rate = ratio(failed_calls as f64, d);
        r.retry_amplification = ratio(r.attempts as f64, d);
        r.retry_tax = ratio(r.failed_attempts_cost_usd, r.cost_usd);
        r.cost_per_successful_call_usd = ratio(r.cost_per_successful_call_usd, ok_calls as f64);
    }
    routes.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_of_the_retry_knob() {
        // 10 calls: 5 first attempts failed (503), 4 retried to success, 1 failed twice.
        let calls = vec![
            CallGroup {
                route: "chat".into(),
                outcome: "ok".into(),
                calls: 9,
                dispatched: 9,
                attempts: 13,
                cost_usd: 0.9 + 0.04,
                budget_exhausted: 0,
            },
            CallGroup {
                route: "chat".into(),
                outcome: "error".into(),
                calls: 1,
                dispatched: 1,
                attempts: 2,
                cost_usd: 0.02,
                budget_exhausted: 1,
            },
        ];
        let attempts = vec![
            AttemptGroup {
                route: "chat".into(),
                provider: "p".into(),
                outcome: "ok".into(),
                error_class: String::new(),
                attempts: 9,
                first_attempts: 5,
                cost_usd: 0.9,
            },
            AttemptGroup {
                route: "chat".into(),
                provider: "p".into(),
                outcome: "error".into(),
                error_class: "status_5xx".into(),
                attempts: 6,
                first_attempts: 5,
                cost_usd: 0.06,
            },
        ];
        let r = &report(&calls, &attempts)[0];
        assert_eq!(r.calls_dispatched, 10);
        assert!((r.first_attempt_error_rate - 0.5).abs() < 1e-9);
        assert!((r.final_error_rate - 0.1).abs() < 1e-9);
        assert!((r.retry_amplification - 1.5).abs() < 1e-9);
        assert!((r.retry_tax - 0.06 / 0.96).abs() < 1e-9);
        assert!((r.cost_per_successful_call_usd - 0.94 / 9.0).abs() < 1e-9);
        assert_eq!(r.budget_refusals, 1);
        let p = &r.providers[0];
        assert!((p.attempt_error_rate - 0.4).abs() < 1e-9);
        assert!((p.first_attempt_error_rate - 0.5).abs() < 1e-9);
        assert_eq!(p.errors_by_class["status_5xx"], 6);
    }

    #[test]
    fn calls_rejected_before_routing_are_counted_apart_not_as_a_route() {
        let group = |route: &str, outcome: &str, calls: i64, dispatched: i64| CallGroup {
            route: route.into(),
            outcome: outcome.into(),
            calls,
            dispatched,
            attempts: dispatched,
            cost_usd: 0.0,
            budget_exhausted: 0,
        };
        let calls = vec![group("", "rejected", 3, 0), group("chat", "ok", 2, 2)];
        let routes = report(&calls, &[]);
        let names: Vec<&str> = routes.iter().map(|r| r.route.as_str()).collect();
        assert_eq!(names, ["chat"]);
        assert_eq!(unrouted(&calls), 3);
    }
}
