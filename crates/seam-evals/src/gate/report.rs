//! What the gate decided and every number behind it, serializable as is (`--json`, the
//! stored decision, the audit entry).

use super::GateConfig;
use crate::stats::{Interval, PairedCounts, Proportion};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Pass,
    Fail,
    Inconclusive,
}

impl Decision {
    /// The process exit code of `seam eval gate`: 0 pass, 1 fail, 3 inconclusive (2 is
    /// left to usage errors, as clap exits).
    pub fn exit_code(self) -> i32 {
        match self {
            Decision::Pass => 0,
            Decision::Fail => 1,
            Decision::Inconclusive => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pass => "pass",
            Decision::Fail => "fail",
            Decision::Inconclusive => "inconclusive",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the gate decided as it did. A fail lists every rule that failed; rates and
/// differences are fractions (0.02 is 2 points).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// Fail: the pass rate dropped by more than the margin, and significantly.
    SignificantDrop {
        drop: f64,
        p: f64,
        alpha: f64,
        margin: f64,
    },
    /// Fail: required cases that did not pass on the candidate (`required_failures`).
    RequiredFailed { count: usize },
    /// Fail: cases without a verdict on a side (`missing`).
    Missing { baseline: usize, candidate: usize },
    /// Fail: cases whose call or grader failed on a side (`errored`).
    Errored { baseline: usize, candidate: usize },
    /// Inconclusive: no case has a verdict on both sides.
    NothingCompared,
    /// Inconclusive: a drop as large as the margin could have gone unseen.
    Underpowered { mde: f64, margin: f64, power: f64 },
    /// Pass: no significant drop, and a drop larger than the margin would have been seen.
    NoSignificantDrop {
        difference: f64,
        p: f64,
        alpha: f64,
        mde: f64,
        margin: f64,
    },
    /// Pass: the drop is significant but no larger than the margin.
    DropWithinMargin { drop: f64, p: f64, margin: f64 },
    /// Pass although the run is too small to see every drop of the margin: the interval
    /// of the difference already excludes such a drop (`low > -margin`).
    NonInferior { low: f64, margin: f64, mde: f64 },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::SignificantDrop {
                drop,
                p,
                alpha,
                margin,
            } => write!(
                f,
                "the pass rate dropped {} (p = {} < {alpha}), more than the {} margin",
                points(drop),
                p_value(p),
                points(margin)
            ),
            Reason::RequiredFailed { count } => {
                write!(f, "{count} required case{} did not pass", plural(count))
            }
            Reason::Missing {
                baseline,
                candidate,
            } => write!(
                f,
                "cases without a verdict: {baseline} on the baseline, {candidate} on the candidate"
            ),
            Reason::Errored {
                baseline,
                candidate,
            } => write!(
                f,
                "cases that errored: {baseline} on the baseline, {candidate} on the candidate"
            ),
            Reason::NothingCompared => write!(f, "no case has a verdict on both sides"),
            Reason::Underpowered { mde, margin, power } => write!(
                f,
                "this run reliably detects only drops of {} or more ({:.0}% power), above the {} margin: add cases",
                points(mde),
                power * 100.0,
                points(margin)
            ),
            Reason::NoSignificantDrop {
                difference,
                p,
                alpha,
                mde,
                margin,
            } => write!(
                f,
                "no significant drop ({} change, p = {} >= {alpha}); drops of {} or more would have been seen, within the {} margin",
                signed_points(difference),
                p_value(p),
                points(mde),
                points(margin)
            ),
            Reason::DropWithinMargin { drop, p, margin } => write!(
                f,
                "the pass rate dropped {} (p = {}), within the {} margin",
                points(drop),
                p_value(p),
                points(margin)
            ),
            Reason::NonInferior { low, margin, mde } => write!(
                f,
                "the difference is at least {} (interval), above -{}, though only drops of {} or more are reliably detected",
                signed_points(low),
                points(margin),
                points(mde)
            ),
        }
    }
}

/// How the interval of the pass-rate difference was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceMethod {
    /// Newcombe's method 10 (cases independent).
    Newcombe,
    /// Percentile bootstrap resampling groups.
    GroupBootstrap,
}

/// Which test gave the p-value the decision used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestMethod {
    /// Exact McNemar on the flipped cases (cases independent).
    McnemarExact,
    /// Exact sign-flip test on the groups' net flips (cases grouped).
    GroupSignFlip,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// Candidate rate minus baseline rate; `None` with nothing compared.
    pub estimate: Option<f64>,
    pub interval: Option<Interval>,
    pub method: DifferenceMethod,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Test {
    pub method: TestMethod,
    /// The p-value the decision used (two-sided).
    pub p: f64,
    /// The exact McNemar p-value on the cases, whatever the grouping (equal to `p` without
    /// groups).
    pub mcnemar_p: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreDifference {
    /// Compared cases with a score on both sides.
    pub cases: u64,
    pub baseline_mean: f64,
    pub candidate_mean: f64,
    pub difference: f64,
    /// Paired percentile bootstrap interval of the mean difference.
    pub interval: Option<Interval>,
    pub resamples: u32,
    /// Whether the bootstrap resampled groups rather than cases.
    pub by_group: bool,
}

/// Runs per case on each side and the rates they give. Shown when a case ran more than once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeats {
    pub k: u32,
    pub baseline: RepeatRates,
    pub candidate: RepeatRates,
    /// Compared cases that passed some runs and failed others, on either side.
    pub flaky: Vec<FlakyCase>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RepeatRates {
    /// Passing runs over runs.
    pub per_run: Option<f64>,
    /// The mean over cases of pass^k (the gate's pass rate).
    pub pass_k: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlakyCase {
    pub id: String,
    pub baseline: PassCount,
    pub candidate: PassCount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassCount {
    pub passes: u32,
    pub runs: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Flipped {
    pub pass_to_fail: Vec<String>,
    pub fail_to_pass: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BySide {
    pub baseline: Vec<String>,
    pub candidate: Vec<String>,
}

impl BySide {
    pub fn is_empty(&self) -> bool {
        self.baseline.is_empty() && self.candidate.is_empty()
    }
}

/// The gate's decision with the numbers behind it. Case ids in lists are in id order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    pub config: GateConfig,
    /// Cases given.
    pub cases: u64,
    /// Cases with a pass or fail on both sides: what the statistics are computed on.
    pub compared: u64,
    /// Independent units among the compared cases: groups, plus cases without a group.
    pub units: u64,
    /// Whether some group holds two compared cases or more (then intervals resample groups
    /// and the test works on groups' net flips).
    pub grouped: bool,
    pub baseline: Proportion,
    pub candidate: Proportion,
    pub counts: PairedCounts,
    pub difference: Difference,
    pub test: Test,
    /// Minimum detectable drop at `config.power`; `None` with nothing compared.
    pub mde: Option<f64>,
    pub scores: Option<ScoreDifference>,
    pub repeats: Option<Repeats>,
    pub flipped: Flipped,
    /// Required cases that did not pass on the candidate (failed, errored or missing).
    pub required_failures: Vec<String>,
    pub missing: BySide,
    pub errored: BySide,
}

pub(crate) fn points(fraction: f64) -> String {
    format!("{:.1} pts", fraction * 100.0)
}

pub(crate) fn signed_points(fraction: f64) -> String {
    format!("{:+.1} pts", fraction * 100.0)
}

pub(crate) fn p_value(p: f64) -> String {
    if p >= 0.001 {
        format!("{p:.4}")
    } else {
        format!("{p:.1e}")
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
