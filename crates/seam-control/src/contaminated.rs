//! Eval runs of a release made with `--allow-contamination` are contaminated on that dataset
//! (shared by `seam eval` and the dashboard):
//! their cases are in the prompt. Where a score is shown it is marked, with the score on the
//! clean subset (the run's other cases) beside it, as lm-evaluation-harness reports
//! "decontaminated" metrics; the gate refuses such a run unless `--accept-contaminated`.

use crate::Result;
use seam_store::{EvalResultRecord, EvalRunRecord, Records};
use seam_vocab::EvalVerdict;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Why a run is contaminated.
pub struct Mark {
    pub release: String,
    /// The dataset's cases the release contains.
    pub cases: BTreeSet<String>,
    /// Who allowed it and why, `NAME: REASON` each.
    pub allowed_by: Vec<String>,
}

impl Mark {
    /// The results of cases the release does not contain.
    pub fn clean<'a>(&self, results: &'a [EvalResultRecord]) -> Vec<&'a EvalResultRecord> {
        results
            .iter()
            .filter(|r| !self.cases.contains(&r.case_id))
            .collect()
    }

    /// One line: the release, the cases, the full and the clean-subset pass rates.
    pub fn line(&self, results: &[EvalResultRecord]) -> String {
        let clean = self.clean(results);
        format!(
            "CONTAMINATED: release {} contains {} case(s) of this dataset ({}; allowed by {}); pass rate {} on all cases, {} on the clean subset ({} results)",
            self.release,
            self.cases.len(),
            self.cases.iter().cloned().collect::<Vec<_>>().join(", "),
            self.allowed_by.join("; "),
            pct(pass_rate(results.iter())),
            pct(pass_rate(clean.iter().copied())),
            clean.len()
        )
    }

    pub fn json(&self, results: &[EvalResultRecord]) -> Value {
        let clean = self.clean(results);
        json!({"release": self.release, "cases": self.cases, "allowed_by": self.allowed_by,
               "clean_results": clean.len(), "clean_pass_rate": pass_rate(clean.iter().copied())})
    }
}

pub fn pass_rate<'a>(results: impl Iterator<Item = &'a EvalResultRecord>) -> Option<f64> {
    let (mut pass, mut n) = (0usize, 0usize);
    for r in results {
        n += 1;
        pass += usize::from(r.verdict == EvalVerdict::Pass);
    }
    (n > 0).then(|| pass as f64 / n as f64)
}

pub fn pct(r: Option<f64>) -> String {
    r.map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// The release a run's calls were served from (one for all of them), else None.
async fn run_release(
    store: &(impl Records + ?Sized),
    results: &[EvalResultRecord],
) -> Result<Option<String>> {
    let mut found: Option<String> = None;
    for r in results {
        let Some(call) = &r.call_id else {
            return Ok(None);
        };
        let Some((call, _)) = store.get_call(call).await? else {
            return Ok(None);
        };
        match (&found, call.release_id) {
            (_, None) => return Ok(None),
            (None, Some(rel)) => found = Some(rel),
            (Some(f), Some(rel)) if *f != rel => return Ok(None),
            _ => {}
        }
    }
    Ok(found)
}

/// The release a run graded: a `release` run's target, else the one its calls were served
/// from (see [`run_release`]).
pub async fn release_of(
    store: &(impl Records + ?Sized),
    run: &EvalRunRecord,
    results: &[EvalResultRecord],
) -> Result<Option<String>> {
    if run.target_kind == "release" {
        return Ok(Some(run.target.clone()));
    }
    run_release(store, results).await
}

/// Whether `run` is contaminated: its release (a `release` run's target, else the one its
/// calls were served from) was made with `--allow-contamination` naming cases of its dataset.
pub async fn mark_of(
    store: &(impl Records + ?Sized),
    run: &EvalRunRecord,
    results: &[EvalResultRecord],
    audit: &[seam_store::AuditRecord],
) -> Result<Option<Mark>> {
    // Most stores have no override at all: then no call is read.
    if !audit
        .iter()
        .any(|e| e.action == "release.contamination_allowed")
    {
        return Ok(None);
    }
    let Some(release) = release_of(store, run, results).await? else {
        return Ok(None);
    };
    let (cases, allowed_by) = crate::contamination::allowed_cases(audit, &release, &run.dataset);
    Ok((!cases.is_empty()).then_some(Mark {
        release,
        cases,
        allowed_by,
    }))
}
