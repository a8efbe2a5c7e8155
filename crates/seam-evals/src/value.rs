//! The value ledger (issue 26, docs/evals.md "Value ledger"): what a gate decision is
//! estimated to have been worth, and the report that sums it. Pure arithmetic on numbers the
//! caller read from the records, so a test can recompute every figure by hand.
//!
//! Method: a blocked regression (a `fail` decision not overridden at deploy) is estimated to
//! avoid `calls per day x horizon days x failure-rate change` failures, where the rate change
//! is the candidate's failure rate minus the baseline's (the gate's paired difference, sign
//! flipped) and its interval is the gate's interval of that difference mapped the same way.
//! Nothing is clamped: a lower bound below zero says the regression may not be real.

use crate::stats::Interval;
use serde::{Deserialize, Serialize};

/// The horizon a blocked regression is counted over unless configured.
pub const DEFAULT_HORIZON_DAYS: f64 = 30.0;
/// The window traffic is averaged over.
pub const TRAFFIC_WINDOW_DAYS: f64 = 7.0;

/// The method, as printed under every table of estimates.
pub const METHOD: &str = "ESTIMATES. failures avoided = calls per day (live calls served from the baseline release over the 7 days before the decision, / 7) x horizon days x failure-rate change (candidate failure rate minus baseline's, from the gate's paired difference); its interval is the gate's interval of that difference mapped the same way, not clamped at 0. Counted only for a `fail` decision not overridden at deploy. cost avoided = failures avoided x the prompt's failure_cost_usd (absent: counts only). Totals sum the bounds (a conservative range, not a joint interval). eval spend is ACTUAL: cost_usd of the call records the runs' results name, each run once (a model grader's own calls are not linked to a run and not counted).";

/// A point estimate with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Estimate {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl Estimate {
    fn scaled(self, by: f64) -> Estimate {
        Estimate {
            estimate: self.estimate * by,
            low: self.low * by,
            high: self.high * by,
        }
    }

    fn add(&mut self, other: Estimate) {
        self.estimate += other.estimate;
        self.low += other.low;
        self.high += other.high;
    }
}

/// What the gate and the records say, before any estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerInput {
    pub decision: String,
    /// Candidate pass rate minus baseline pass rate, and its interval.
    pub pass_difference: Option<f64>,
    pub pass_interval: Option<Interval>,
    /// Live calls served from the baseline release in the [`TRAFFIC_WINDOW_DAYS`] before
    /// (None: the baseline run names no one release, so its traffic is unknown).
    pub calls_in_window: Option<u64>,
    pub horizon_days: f64,
    pub failure_cost_usd: Option<f64>,
}

/// One ledger entry's numbers (stored as JSON in `value_ledger.entry`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub release: Option<String>,
    pub baseline_release: Option<String>,
    pub prompt: Option<String>,
    pub dataset: String,
    pub dataset_version: String,
    pub decision: String,
    pub candidate_run: String,
    pub baseline_run: String,
    /// Candidate failure rate minus baseline failure rate (positive: the candidate fails more).
    pub failure_rate_change: Option<f64>,
    pub failure_rate_change_interval: Option<Interval>,
    /// None: the baseline run names no one release, so the traffic is unknown.
    pub calls_in_window: Option<u64>,
    pub window_days: f64,
    pub calls_per_day: Option<f64>,
    pub horizon_days: f64,
    /// A `fail` decision: the regression was blocked (unless overridden at deploy).
    pub blocked: bool,
    /// ESTIMATE; None when not blocked or nothing was compared.
    pub failures_avoided: Option<Estimate>,
    pub failure_cost_usd: Option<f64>,
    /// ESTIMATE; None without a failure cost.
    pub cost_avoided_usd: Option<Estimate>,
    /// ACTUAL, from the call records of both runs.
    pub eval_spend_usd: f64,
    /// The same, per run: a report counts a run used by several decisions once.
    #[serde(default)]
    pub run_spend_usd: std::collections::BTreeMap<String, f64>,
    /// Who deployed the candidate anyway (`--override-gate`), found when a report is made.
    #[serde(default)]
    pub overridden_by: Option<String>,
    /// A newer decision in the same report is of the same candidate and baseline release:
    /// the regression is counted there, once (set when a report is made).
    #[serde(default)]
    pub counted_in_newer: bool,
    pub method: String,
}

/// The estimate part of an entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimated {
    pub failure_rate_change: Option<f64>,
    pub failure_rate_change_interval: Option<Interval>,
    pub calls_per_day: Option<f64>,
    pub blocked: bool,
    pub failures_avoided: Option<Estimate>,
    pub cost_avoided_usd: Option<Estimate>,
}

/// Refuses a horizon that is not a positive number of days.
pub fn check_horizon(days: f64) -> Result<f64, String> {
    if days.is_finite() && days > 0.0 && days <= 3650.0 {
        Ok(days)
    } else {
        Err(format!(
            "horizon {days} days is out of range: use a number of days above 0, at most 3650"
        ))
    }
}

/// The estimates of one decision.
pub fn estimate(input: &LedgerInput) -> Estimated {
    // `0.0 - x`, not `-x`: no difference prints as 0, not -0.
    let change = input.pass_difference.map(|d| 0.0 - d);
    let interval = input.pass_interval.map(|i| Interval {
        low: 0.0 - i.high,
        high: 0.0 - i.low,
    });
    let calls_per_day = input
        .calls_in_window
        .map(|n| n as f64 / TRAFFIC_WINDOW_DAYS);
    let blocked = input.decision == "fail";
    let failures_avoided = match (blocked && calls_per_day.is_some(), change, interval) {
        (true, Some(c), Some(i)) => Some(Estimate {
            estimate: c,
            low: i.low,
            high: i.high,
        }),
        (true, Some(c), None) => Some(Estimate {
            estimate: c,
            low: c,
            high: c,
        }),
        _ => None,
    }
    .map(|rate| rate.scaled(calls_per_day.unwrap_or(0.0) * input.horizon_days));
    let cost_avoided_usd = failures_avoided
        .zip(input.failure_cost_usd)
        .map(|(f, cost)| f.scaled(cost));
    Estimated {
        failure_rate_change: change,
        failure_rate_change_interval: interval,
        calls_per_day,
        blocked,
        failures_avoided,
        cost_avoided_usd,
    }
}

/// One row of `seam report value`: a prompt's entries, or all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ValueRow {
    pub prompt: String,
    pub decisions: u64,
    pub regressions_blocked: u64,
    /// Blocked, then deployed anyway: counted in neither estimate.
    pub overridden: u64,
    /// Blocked again by a newer decision of the same releases: counted once, there.
    pub repeated: u64,
    /// ESTIMATE: None when no blocked regression had a rate change.
    pub failures_avoided: Option<Estimate>,
    /// ESTIMATE over the blocked regressions whose prompt declares a failure cost.
    pub cost_avoided_usd: Option<Estimate>,
    /// Blocked regressions counted in `failures_avoided` with no failure cost declared.
    pub without_cost: u64,
    /// ACTUAL.
    pub eval_spend_usd: f64,
    /// Estimated cost avoided per dollar of eval spend (None without both).
    pub cost_avoided_per_usd: Option<Estimate>,
}

/// Sums entries into a row; `spend` is the row's actual eval spend (each run counted once,
/// which the caller knows from the run ids).
pub fn sum_row(prompt: &str, entries: &[&LedgerEntry], spend: f64) -> ValueRow {
    let mut row = ValueRow {
        prompt: prompt.to_string(),
        eval_spend_usd: spend,
        ..ValueRow::default()
    };
    for e in entries {
        row.decisions += 1;
        if !e.blocked {
            continue;
        }
        if e.counted_in_newer {
            row.repeated += 1;
            continue;
        }
        if e.overridden_by.is_some() {
            row.overridden += 1;
            continue;
        }
        row.regressions_blocked += 1;
        if let Some(f) = e.failures_avoided {
            row.failures_avoided
                .get_or_insert_with(Estimate::default)
                .add(f);
            match e.cost_avoided_usd {
                Some(c) => row
                    .cost_avoided_usd
                    .get_or_insert_with(Estimate::default)
                    .add(c),
                None => row.without_cost += 1,
            }
        }
    }
    row.cost_avoided_per_usd = row
        .cost_avoided_usd
        .filter(|_| spend > 0.0)
        .map(|c| c.scaled(1.0 / spend));
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_drop_scales_the_flipped_interval() {
        let e = estimate(&LedgerInput {
            decision: "fail".into(),
            pass_difference: Some(-0.1),
            pass_interval: Some(Interval {
                low: -0.2,
                high: 0.01,
            }),
            calls_in_window: Some(700),
            horizon_days: 30.0,
            failure_cost_usd: Some(2.0),
        });
        // 100 calls a day x 30 days = 3000 calls; 10% (-1%..20%) more of them fail.
        let f = e.failures_avoided.expect("blocked");
        assert!((f.estimate - 300.0).abs() < 1e-9);
        assert!((f.low + 30.0).abs() < 1e-9);
        assert!((f.high - 600.0).abs() < 1e-9);
        let c = e.cost_avoided_usd.expect("costed");
        assert!((c.estimate - 600.0).abs() < 1e-9 && (c.low + 60.0).abs() < 1e-9);
    }

    #[test]
    fn a_pass_avoids_nothing() {
        let e = estimate(&LedgerInput {
            decision: "pass".into(),
            pass_difference: Some(0.0),
            pass_interval: None,
            calls_in_window: Some(70),
            horizon_days: 30.0,
            failure_cost_usd: Some(2.0),
        });
        assert_eq!((e.blocked, e.failures_avoided), (false, None));
        assert!(check_horizon(0.0).is_err() && check_horizon(f64::NAN).is_err());
    }
}
