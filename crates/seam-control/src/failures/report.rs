//! `seam failures`: how often each signal fired, per route, release or signal, in a period
//! and in the period of the same length before it. Each rate has its Wilson 95% interval;
//! a change between the periods has the two-sided p-value of a two-proportion z-test.

use super::embed::Embedder;
use super::scan::{Scanned, scan};
use crate::Result;
use seam_evals::stats::{Confidence, Interval, normal_upper_tail, wilson};
use seam_store::{FailureBy, FailureCounts, Failures, Records, Tenants};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The methods, printed under the table and kept in the JSON.
pub const METHOD: &str = "rate = flagged calls / live calls in the period; interval: Wilson 95%; \
change: two-sided two-proportion z-test against the previous period";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Route,
    Release,
    Signal,
}

impl By {
    fn store(self) -> FailureBy {
        match self {
            By::Route => FailureBy::Route,
            By::Release => FailureBy::Release,
            By::Signal => FailureBy::Signal,
        }
    }
}

/// One signal's rate in one group, now and before.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub group: String,
    pub signal: String,
    pub now: Rate,
    pub previous: Rate,
    /// The two-sided p-value of the change; `None` when a period had no calls.
    pub change_p: Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rate {
    pub flagged: u64,
    pub calls: u64,
    /// `None` without calls.
    pub rate: Option<f64>,
    pub interval: Interval,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub by: By,
    pub since_ms: i64,
    pub until_ms: i64,
    pub previous_since_ms: i64,
    pub rows: Vec<Row>,
    /// The two passes run before counting (this period, then the previous one).
    pub scanned: Scanned,
    pub previous_scanned: Scanned,
    pub method: &'static str,
    /// How the rephrase signal compared texts (both passes; the later one's words).
    pub similarity: String,
}

/// Scans both periods (so the report never waits for `seam serve`'s background pass), then
/// counts. Only `tenants`' calls are scanned and counted.
pub async fn failures(
    store: &(impl Failures + Records + ?Sized),
    tenants: &Tenants,
    since_ms: i64,
    until_ms: i64,
    by: By,
    opts: &seam_signals::Options,
    mut embed: Option<&mut Embedder<'_>>,
) -> Result<Report> {
    let previous_since_ms = since_ms - (until_ms - since_ms);
    let previous_scanned = scan(
        store,
        previous_since_ms,
        since_ms,
        tenants,
        opts,
        embed.as_deref_mut(),
    )
    .await?;
    let scanned = scan(store, since_ms, until_ms, tenants, opts, embed).await?;
    let now = store
        .failure_counts_in(since_ms, until_ms, by.store(), tenants)
        .await?;
    let before = store
        .failure_counts_in(previous_since_ms, since_ms, by.store(), tenants)
        .await?;
    Ok(Report {
        by,
        since_ms,
        until_ms,
        previous_since_ms,
        rows: rows(by, &now, &before),
        similarity: scanned.similarity.clone(),
        scanned,
        previous_scanned,
        method: METHOD,
    })
}

/// Every (group, signal) flagged in either period, most flagged now first.
fn rows(by: By, now: &FailureCounts, before: &FailureCounts) -> Vec<Row> {
    let calls = |c: &FailureCounts, group: &str| -> u64 {
        let group = if by == By::Signal { "all" } else { group };
        c.calls
            .iter()
            .find(|(g, _)| g == group)
            .map_or(0, |(_, n)| (*n).max(0) as u64)
    };
    let flagged = |c: &FailureCounts| -> BTreeMap<(String, String), u64> {
        c.flagged
            .iter()
            .map(|f| ((f.group.clone(), f.signal.clone()), f.flagged.max(0) as u64))
            .collect()
    };
    let (fn_now, fn_before) = (flagged(now), flagged(before));
    let keys: BTreeSet<&(String, String)> = fn_now.keys().chain(fn_before.keys()).collect();
    let mut rows: Vec<Row> = keys
        .into_iter()
        .map(|key| {
            let (group, signal) = key;
            let a = rate(fn_now.get(key).copied().unwrap_or(0), calls(now, group));
            let b = rate(
                fn_before.get(key).copied().unwrap_or(0),
                calls(before, group),
            );
            Row {
                group: group.clone(),
                signal: signal.clone(),
                change_p: two_proportion_p(&a, &b),
                now: a,
                previous: b,
            }
        })
        .collect();
    rows.sort_by(|x, y| {
        y.now
            .flagged
            .cmp(&x.now.flagged)
            .then_with(|| (&x.group, &x.signal).cmp(&(&y.group, &y.signal)))
    });
    rows
}

fn rate(flagged: u64, calls: u64) -> Rate {
    // More flagged calls than calls only when the counts were read apart; clamp, do not fail.
    let flagged = flagged.min(calls);
    match wilson(flagged, calls, Confidence::NINETY_FIVE) {
        Ok(p) => Rate {
            flagged,
            calls,
            rate: p.rate,
            interval: p.interval,
        },
        Err(_) => Rate {
            flagged,
            calls,
            rate: None,
            interval: Interval {
                low: 0.0,
                high: 1.0,
            },
        },
    }
}

/// The pooled two-proportion z-test's two-sided p-value.
fn two_proportion_p(a: &Rate, b: &Rate) -> Option<f64> {
    if a.calls == 0 || b.calls == 0 {
        return None;
    }
    let (n1, n2) = (a.calls as f64, b.calls as f64);
    let pooled = (a.flagged + b.flagged) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return Some(1.0);
    }
    let z = (a.flagged as f64 / n1 - b.flagged as f64 / n2) / se;
    Some((2.0 * normal_upper_tail(z.abs())).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(flagged: u64, calls: u64) -> Rate {
        rate(flagged, calls)
    }

    #[test]
    fn two_proportion_p_matches_a_reference() {
        // Python: pooled z = 2.288144, p = math.erfc(z / sqrt(2)) = 0.0221291
        let p = two_proportion_p(&r(30, 500), &r(15, 500)).expect("both periods have calls");
        assert!((p - 0.022_129_1).abs() < 1e-6, "p = {p}");
        assert_eq!(two_proportion_p(&r(0, 0), &r(1, 10)), None);
        assert_eq!(two_proportion_p(&r(0, 10), &r(0, 10)), Some(1.0));
    }

    #[test]
    fn rows_pair_periods_and_sort_by_flagged() {
        use seam_store::FailureCount;
        let fc = |g: &str, s: &str, n: i64| FailureCount {
            group: g.into(),
            signal: s.into(),
            flagged: n,
        };
        let now = FailureCounts {
            calls: vec![("a".into(), 100), ("b".into(), 10)],
            flagged: vec![fc("a", "rephrase", 5), fc("b", "abandon", 9)],
        };
        let before = FailureCounts {
            calls: vec![("a".into(), 50)],
            flagged: vec![fc("a", "loop", 2)],
        };
        let rows = rows(By::Route, &now, &before);
        let got: Vec<(&str, &str, u64, u64)> = rows
            .iter()
            .map(|r| (&*r.group, &*r.signal, r.now.flagged, r.previous.flagged))
            .collect();
        assert_eq!(
            got,
            vec![
                ("b", "abandon", 9, 0),
                ("a", "rephrase", 5, 0),
                ("a", "loop", 0, 2)
            ]
        );
        assert_eq!(rows[0].change_p, None, "b had no calls before");
        assert_eq!(rows[1].now.rate, Some(0.05));
    }
}
