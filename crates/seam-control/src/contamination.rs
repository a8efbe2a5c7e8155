//! The contamination guard at release time (docs/evals.md "Contamination guard"): a release
//! whose messages (few-shot turns among them), tool descriptions and parameters, response
//! format or description contain an eval case of `[evals] dir` is refused, naming each case,
//! its file and line, where in the release, the measure and the shared span; an owner of the
//! prompt (or an admin) may make it anyway with a reason, audited with the cases it names.

use crate::owners::Trust;
use crate::{Actor, ControlError, change, record_change};
use seam_evals::contamination::{Finding, Place, Thresholds, load_dir};
use seam_prompts::Prompt;
use seam_store::{Audit, Events, ReleaseRecord, Releases};
use serde_json::json;
use std::path::PathBuf;

/// What a release is checked against, and an override.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// `[evals] dir`; None (or a directory that does not exist) checks nothing.
    pub evals_dir: Option<PathBuf>,
    pub thresholds: Thresholds,
    /// `--allow-contamination REASON`: an owner makes the release anyway.
    pub allow: Option<String>,
}

impl Guard {
    /// The guard of a config: its `[evals] dir` and `[evals.contamination]`.
    pub fn of(evals: &seam_config::Evals, allow: Option<String>) -> Guard {
        Guard {
            evals_dir: Some(evals.dir.clone()),
            thresholds: thresholds(&evals.contamination),
            allow,
        }
    }
}

/// `[evals.contamination]` as the guard's thresholds.
pub fn thresholds(c: &seam_config::Contamination) -> Thresholds {
    Thresholds {
        ngram: c.ngram,
        share_ngram: c.share_ngram,
        share: c.share,
        jaccard: c.jaccard,
        min_words: c.min_words,
    }
}

/// What a check found, and what it skipped or checked only in part (a sentence each).
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Dataset files not checked against: they do not load.
    pub unread: Vec<String>,
    /// Case parts checked by containment only, cut, or too short to check.
    pub notes: Vec<String>,
}

/// Why a guarded release was not made.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// It contains eval cases and no override was given.
    #[error("{message}")]
    Contaminated {
        message: String,
        findings: Vec<Finding>,
    },
    #[error(transparent)]
    Control(#[from] ControlError),
}

/// The texts of a prompt that a release carries to the model, each with where it is.
pub fn places(prompt: &Prompt) -> Vec<Place> {
    let mut out = Vec::new();
    let mut add = |label: String, text: String| {
        if !text.trim().is_empty() {
            out.push(Place { label, text });
        }
    };
    if let Some(d) = &prompt.description {
        add("description".into(), d.clone());
    }
    for (i, m) in prompt.messages.iter().enumerate() {
        add(format!("messages[{i}] ({})", m.role), m.content.clone());
    }
    for t in &prompt.tools {
        if let Some(d) = &t.description {
            add(format!("tool `{}` description", t.name), d.clone());
        }
        if let Some(p) = &t.parameters {
            add(format!("tool `{}` parameters", t.name), toml_text(p));
        }
    }
    if let Some(f) = &prompt.response_format {
        add("response_format".into(), toml_text(f));
    }
    out
}

/// A TOML value's text: its strings (descriptions, enum values, examples) and keys.
fn toml_text(v: &toml::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Checks `places` against the datasets of the guard's directory.
pub fn check_places(places: &[Place], guard: &Guard) -> Result<Report, ControlError> {
    let Some(dir) = &guard.evals_dir else {
        return Ok(Report::default());
    };
    guard
        .thresholds
        .check()
        .map_err(|e| ControlError::Invalid(format!("evals.contamination.{e}")))?;
    let Some((index, problems)) = load_dir(dir, &guard.thresholds).map_err(|e| {
        ControlError::Invalid(format!(
            "the contamination guard cannot read the datasets: {e}"
        ))
    })?
    else {
        return Ok(Report::default());
    };
    Ok(Report {
        findings: index.check(places),
        unread: problems,
        notes: index.notes().to_vec(),
    })
}

/// Checks a prompt (`seam prompt lint`, `seam release create`).
pub fn check_prompt(prompt: &Prompt, guard: &Guard) -> Result<Report, ControlError> {
    check_places(&places(prompt), guard)
}

/// The refusal's text: every finding, one a line, and what to do.
pub fn refusal_text(prompt: &str, findings: &[Finding]) -> String {
    let mut cases: Vec<&str> = findings.iter().map(|f| f.case.as_str()).collect();
    cases.sort_unstable();
    cases.dedup();
    let mut out = format!(
        "a release of `{prompt}` would contain {} eval case(s) of [evals] dir, so it would be graded on its own examples:",
        cases.len()
    );
    for f in findings {
        out.push_str("\n  ");
        out.push_str(&f.describe());
    }
    out.push_str(&format!(
        "\nTake them out of the prompt; or, as an owner of `{prompt}` or an admin, make the release with --allow-contamination REASON (audited with the cases; its eval runs on the dataset are then marked contaminated)"
    ));
    out
}

/// Makes a release of `prompt` unless it contains eval cases; with `guard.allow`, an owner of
/// the prompt (or an admin) makes it anyway, audited with the cases found.
pub async fn create_release(
    store: &(impl Releases + Audit + Events + ?Sized),
    actor: &Actor,
    prompt: &Prompt,
    guard: &Guard,
) -> Result<(ReleaseRecord, bool, Report), Refusal> {
    let report = check_prompt(prompt, guard)?;
    if report.findings.is_empty() {
        let (r, new) = crate::create_release(store, &actor.name, prompt).await?;
        return Ok((r, new, report));
    }
    let Some(reason) = &guard.allow else {
        return Err(Refusal::Contaminated {
            message: refusal_text(&prompt.name, &report.findings),
            findings: report.findings,
        });
    };
    if reason.trim().is_empty() {
        return Err(ControlError::Invalid(
            "--allow-contamination needs a reason: say why the release may contain eval cases"
                .into(),
        )
        .into());
    }
    let trust = Trust::of(store, &prompt.name).await?;
    trust.require_owner(actor, "making a release that contains eval cases")?;
    let (release, new) = crate::create_release(store, &actor.name, prompt).await?;
    let cases: Vec<serde_json::Value> = report
        .findings
        .iter()
        .map(|f| {
            json!({"dataset": f.dataset, "file": f.file, "line": f.line, "case": f.case,
                   "part": f.part, "place": f.place, "metric": f.metric,
                   "longest_span": f.longest_span})
        })
        .collect();
    let mut datasets: Vec<&str> = report.findings.iter().map(|f| f.dataset.as_str()).collect();
    datasets.sort_unstable();
    datasets.dedup();
    record_change(
        store,
        &actor.name,
        change::CONTAMINATION_ALLOWED,
        &release.id,
        None,
        json!({"release": release.id, "reason": reason, "datasets": datasets, "cases": cases}),
        &prompt.name,
    )
    .await?;
    Ok((release, new, report))
}

/// The cases of `dataset` that owners allowed in `release` (`--allow-contamination`), from
/// the audit chain, with who allowed them and why (`NAME: REASON`); empty when none was.
pub fn allowed_cases(
    audit: &[seam_store::AuditRecord],
    release: &str,
    dataset: &str,
) -> (std::collections::BTreeSet<String>, Vec<String>) {
    let mut cases = std::collections::BTreeSet::new();
    let mut by = Vec::new();
    for e in audit
        .iter()
        .filter(|e| e.action == change::CONTAMINATION_ALLOWED.action && e.subject == release)
    {
        let Some(after) = e
            .after
            .as_deref()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        else {
            continue;
        };
        let found: Vec<String> = after["cases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["dataset"].as_str() == Some(dataset))
            .filter_map(|c| c["case"].as_str().map(str::to_string))
            .collect();
        if !found.is_empty() {
            cases.extend(found);
            by.push(format!(
                "{}: {}",
                e.actor,
                after["reason"].as_str().unwrap_or("")
            ));
        }
    }
    (cases, by)
}
