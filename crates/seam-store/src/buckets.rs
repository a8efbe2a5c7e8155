//! The reliability report over time: the store groups calls and attempts by time bucket
//! (`created_ms / bucket_ms`, on the calls' time index; an attempt counts in its call's
//! bucket), route, provider and outcome, and [`report`](crate::reliability::report) computes
//! each bucket's figures as it does the whole window's.

use crate::reliability::{AttemptGroup, CallGroup, RouteReliability, report};
use seam_vocab::Outcome;
use std::collections::BTreeMap;

/// Calls of one bucket, route, deciding provider, outcome and error class.
#[derive(Debug, Clone, PartialEq)]
pub struct CallBucket {
    /// The bucket's start: a multiple of the bucket's width, in ms since the epoch.
    pub start_ms: i64,
    pub route: String,
    /// The provider of the call's deciding attempt; "" for a call that reached none.
    pub provider: String,
    pub outcome: String,
    /// A failure's class, or a refusal's code; "" for none.
    pub error_class: String,
    pub calls: i64,
    pub dispatched: i64,
    pub attempts: i64,
    pub cost_usd: f64,
    pub budget_exhausted: i64,
}

/// Attempts of one bucket (their call's), route, provider, outcome and error class.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptBucket {
    pub start_ms: i64,
    pub group: AttemptGroup,
}

/// What [`Reports::reliability_buckets_in`](crate::Reports::reliability_buckets_in) reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    pub bucket_ms: i64,
    pub calls: Vec<CallBucket>,
    pub attempts: Vec<AttemptBucket>,
}

impl Buckets {
    /// Only the calls of `route`, and of `provider` (calls it decided, attempts sent to it).
    pub fn only(&self, route: Option<&str>, provider: Option<&str>) -> Buckets {
        let keep =
            |r: &str, p: &str| route.is_none_or(|x| x == r) && provider.is_none_or(|x| x == p);
        Buckets {
            bucket_ms: self.bucket_ms,
            calls: self
                .calls
                .iter()
                .filter(|c| keep(&c.route, &c.provider))
                .cloned()
                .collect(),
            attempts: self
                .attempts
                .iter()
                .filter(|a| keep(&a.group.route, &a.group.provider))
                .cloned()
                .collect(),
        }
    }

    /// The whole window's report, as `Reports::reliability_in` would give it.
    pub fn total(&self) -> Vec<RouteReliability> {
        let calls: Vec<CallGroup> = self.calls.iter().map(CallBucket::group).collect();
        let attempts: Vec<AttemptGroup> = self.attempts.iter().map(|a| a.group.clone()).collect();
        report(&calls, &attempts)
    }

    /// Each bucket's report, by its start; buckets without calls are absent.
    pub fn over_time(&self) -> BTreeMap<i64, Vec<RouteReliability>> {
        let mut calls: BTreeMap<i64, Vec<CallGroup>> = BTreeMap::new();
        let mut attempts: BTreeMap<i64, Vec<AttemptGroup>> = BTreeMap::new();
        for c in &self.calls {
            calls.entry(c.start_ms).or_default().push(c.group());
        }
        for a in &self.attempts {
            attempts
                .entry(a.start_ms)
                .or_default()
                .push(a.group.clone());
        }
        let mut starts: Vec<i64> = calls.keys().chain(attempts.keys()).copied().collect();
        starts.sort_unstable();
        starts.dedup();
        starts
            .into_iter()
            .map(|s| {
                let c = calls.get(&s).map(Vec::as_slice).unwrap_or(&[]);
                let a = attempts.get(&s).map(Vec::as_slice).unwrap_or(&[]);
                (s, report(c, a))
            })
            .collect()
    }

    /// Refused calls by their refusal code (a limit's, see `seam_vocab::RefusalCode`).
    pub fn refusals_by_code(&self) -> BTreeMap<String, i64> {
        let mut out: BTreeMap<String, i64> = BTreeMap::new();
        for c in &self.calls {
            if c.outcome == Outcome::Refused.as_str() {
                *out.entry(c.error_class.clone()).or_default() += c.calls;
            }
        }
        out
    }

    /// Every bucket's start from the one holding `from` to the one holding `to`, so that a
    /// chart shows the empty ones too (at most `max`, the latest ones).
    pub fn starts(&self, from: i64, to: i64, max: usize) -> Vec<i64> {
        if self.bucket_ms <= 0 || to < from {
            return Vec::new();
        }
        let first = from.div_euclid(self.bucket_ms) * self.bucket_ms;
        let last = to.div_euclid(self.bucket_ms) * self.bucket_ms;
        let n = usize::try_from((last - first) / self.bucket_ms + 1).unwrap_or(0);
        let skip = n.saturating_sub(max);
        (skip..n)
            .map(|i| first + self.bucket_ms * i64::try_from(i).unwrap_or(0))
            .collect()
    }
}

impl CallBucket {
    fn group(&self) -> CallGroup {
        CallGroup {
            route: self.route.clone(),
            outcome: self.outcome.clone(),
            calls: self.calls,
            dispatched: self.dispatched,
            attempts: self.attempts,
            cost_usd: self.cost_usd,
            budget_exhausted: self.budget_exhausted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(start_ms: i64, route: &str, outcome: &str, class: &str, calls: i64) -> CallBucket {
        let dispatched = if outcome == "refused" { 0 } else { calls };
        CallBucket {
            start_ms,
            route: route.into(),
            provider: if dispatched > 0 {
                "p".into()
            } else {
                String::new()
            },
            outcome: outcome.into(),
            error_class: class.into(),
            calls,
            dispatched,
            attempts: dispatched,
            cost_usd: 0.0,
            budget_exhausted: 0,
        }
    }

    #[test]
    fn buckets_report_each_window_and_sum_to_the_whole() {
        let b = Buckets {
            bucket_ms: 1000,
            calls: vec![
                call(0, "chat", "ok", "", 3),
                call(0, "chat", "error", "status_5xx", 1),
                call(2000, "chat", "ok", "", 4),
                call(2000, "chat", "refused", "tenant_budget", 2),
                call(2000, "search", "refused", "key_rate", 1),
            ],
            attempts: Vec::new(),
        };
        let t = b.over_time();
        assert_eq!(t.keys().copied().collect::<Vec<_>>(), vec![0, 2000]);
        assert!((t[&0][0].final_error_rate - 0.25).abs() < 1e-9);
        assert!(t[&2000][0].final_error_rate.abs() < 1e-9);
        let total = b.total();
        assert_eq!(total[0].calls_dispatched, 8);
        assert!((total[0].final_error_rate - 0.125).abs() < 1e-9);
        assert_eq!(
            b.refusals_by_code().into_iter().collect::<Vec<_>>(),
            vec![("key_rate".into(), 1), ("tenant_budget".into(), 2)]
        );
        assert_eq!(b.only(Some("search"), None).calls.len(), 1);
        assert_eq!(b.only(None, Some("p")).calls.len(), 3);
        assert_eq!(b.starts(500, 2500, 10), vec![0, 1000, 2000]);
        assert_eq!(b.starts(500, 2500, 2), vec![1000, 2000]);
    }
}
