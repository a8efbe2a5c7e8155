//! What the gate is given: each case's runs on the baseline and on the candidate.

use serde::{Deserialize, Serialize};

/// A graded run's verdict as the gate reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// The call or a grader failed (a judge that answered malformed JSON, a provider error):
    /// not a pass, and not a fail the model earned either.
    Error,
    /// The case was not run (a partial run, or a case the run does not have).
    Missing,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::Missing => "missing",
        }
    }
}

/// One run of one case: its verdict and, where its graders give one, a score in 0..1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

impl Run {
    pub fn new(verdict: Verdict) -> Run {
        Run {
            verdict,
            score: None,
        }
    }

    pub fn scored(verdict: Verdict, score: f64) -> Run {
        Run {
            verdict,
            score: Some(score),
        }
    }
}

/// One case of the dataset with its runs on both sides. With `--repeat K`, each side holds
/// K runs; a side with no run, or fewer than the others, is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairedCase {
    pub id: String,
    /// Cases that share a context; their flips are counted together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// A required case must pass on the candidate.
    #[serde(default)]
    pub required: bool,
    pub baseline: Vec<Run>,
    pub candidate: Vec<Run>,
}

impl PairedCase {
    /// A case run once on each side.
    pub fn new(id: impl Into<String>, baseline: Run, candidate: Run) -> PairedCase {
        PairedCase {
            id: id.into(),
            group: None,
            required: false,
            baseline: vec![baseline],
            candidate: vec![candidate],
        }
    }

    pub fn in_group(mut self, group: impl Into<String>) -> PairedCase {
        self.group = Some(group.into());
        self
    }

    pub fn required(mut self) -> PairedCase {
        self.required = true;
        self
    }
}

/// One side of a case, its runs collapsed: pass only when every one of its `k` runs passed
/// (so the gate's pass rate is pass^k), missing when it has fewer runs than `k` or any run
/// is missing, error when any run errored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Side {
    pub verdict: Verdict,
    pub passes: u32,
    pub runs: u32,
    /// The mean of its runs' scores, over the runs that have one.
    pub score: Option<f64>,
}

impl Side {
    pub(crate) fn collapse(runs: &[Run], k: usize) -> Side {
        let passes = runs.iter().filter(|r| r.verdict == Verdict::Pass).count();
        let verdict = if runs.is_empty()
            || runs.len() < k
            || runs.iter().any(|r| r.verdict == Verdict::Missing)
        {
            Verdict::Missing
        } else if runs.iter().any(|r| r.verdict == Verdict::Error) {
            Verdict::Error
        } else if passes == runs.len() {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        let (sum, scored) = runs
            .iter()
            .filter_map(|r| r.score)
            .fold((0.0, 0u32), |(sum, n), s| (sum + s, n + 1));
        let score = (scored > 0).then(|| sum / f64::from(scored));
        Side {
            verdict,
            passes: u32::try_from(passes).unwrap_or(u32::MAX),
            runs: u32::try_from(runs.len()).unwrap_or(u32::MAX),
            score,
        }
    }

    pub(crate) fn compared(&self) -> bool {
        matches!(self.verdict, Verdict::Pass | Verdict::Fail)
    }
}
