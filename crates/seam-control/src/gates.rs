//! Gated deploys (docs/evals.md "Gated deploys"): a release whose prompt file has
//! `gate = { dataset, channel, .. }` goes on that channel only with a passing `seam eval gate`
//! decision of it against the release the channel serves now, on the dataset's current
//! version, or with an admin's override and its reason on the audit chain.
//!
//! The gate read is the one in the release being deployed: it is the release's own content,
//! reviewed and approved with it, so a release cannot drop a gate that its predecessor had
//! without that change being approved.

use crate::{Actor, ControlError, Result, change, record_change};
use seam_prompts::Gate;
use seam_store::{Audit, EvalGateRecord, Evals, Events, ReleaseRecord};
use serde_json::{Value, json};
use std::path::PathBuf;

/// What a deploy needs to check a gated release.
#[derive(Debug, Clone, Default)]
pub struct GateCheck {
    /// `[evals] dir`, where the gate's dataset is; its current version is hashed from there.
    pub evals_dir: Option<PathBuf>,
    /// `--override-gate REASON`: an admin deploys without the passing decision.
    pub override_reason: Option<String>,
}

/// The gate a release has for `channel`, if any.
pub fn gate_of(release: &ReleaseRecord, channel: &str) -> Result<Option<Gate>> {
    let content: Value = serde_json::from_str(&release.content).map_err(|e| {
        ControlError::Invalid(format!(
            "release {} has unreadable content: {e}",
            release.id
        ))
    })?;
    let Some(gate) = content.get("gate").filter(|g| !g.is_null()) else {
        return Ok(None);
    };
    let gate: Gate = serde_json::from_value(gate.clone())
        .map_err(|e| ControlError::Invalid(format!("release {}: key `gate`: {e}", release.id)))?;
    Ok((gate.channel == channel).then_some(gate))
}

/// The dataset's current version, as `seam eval run` would record it.
fn current_version(gate: &Gate, check: &GateCheck) -> std::result::Result<String, String> {
    let dir = check.evals_dir.as_deref().ok_or_else(|| {
        "no [evals] dir is known here, so the dataset's current version cannot be read".to_string()
    })?;
    let path = seam_evals::dataset::resolve(&gate.dataset, Some(dir))?;
    seam_evals::Dataset::load(&path)
        .map(|d| d.version)
        .map_err(|e| format!("the gate's dataset does not load: {e}"))
}

/// Whether a stored decision is as strict as the gate asks: a larger alpha and a smaller
/// margin each fail or hold back more candidates.
fn as_strict(d: &EvalGateRecord, gate: &Gate) -> bool {
    d.alpha >= gate.alpha && d.margin <= gate.margin
}

/// Why the decisions found do not let `release` replace `serving`, or None when one does.
fn missing(
    decisions: &[EvalGateRecord],
    gate: &Gate,
    version: &str,
    release: &str,
    serving: &str,
) -> Option<String> {
    let current: Vec<&EvalGateRecord> = decisions
        .iter()
        .filter(|d| d.dataset_version == version)
        .collect();
    if current
        .iter()
        .any(|d| d.decision == "pass" && as_strict(d, gate))
    {
        return None;
    }
    let short = &version[..version.len().min(12)];
    Some(
        if let Some(d) = current.iter().find(|d| d.decision != "pass") {
            format!(
                "the newest gate decision of {release} against {serving} on dataset `{}` (version {short}) is {} (candidate run {}, baseline run {})",
                gate.dataset, d.decision, d.candidate_run, d.baseline_run
            )
        } else if let Some(d) = current.first() {
            format!(
                "the passing gate decision of {release} against {serving} (candidate run {}) was made with alpha {} and margin {}; the gate asks alpha >= {} and margin <= {}",
                d.candidate_run, d.alpha, d.margin, gate.alpha, gate.margin
            )
        } else if let Some(d) = decisions.first() {
            let old = &d.dataset_version[..d.dataset_version.len().min(12)];
            format!(
                "the gate decisions of {release} against {serving} are on dataset `{}` version {old}, and the dataset is now version {short}",
                d.dataset
            )
        } else {
            format!(
                "there is no gate decision of {release} against {serving} (the release the channel serves now) on dataset `{}` version {short}",
                gate.dataset
            )
        },
    )
}

/// Refuses a gated deploy of `release` onto `channel` (serving `serving` now; None when
/// nothing is served yet: the first deploy needs no gate) unless it passed, or records an
/// admin's override.
pub(crate) async fn check(
    store: &(impl Evals + Audit + Events + ?Sized),
    actor: &Actor,
    target: &str,
    release: &ReleaseRecord,
    serving: Option<&str>,
    check: &GateCheck,
) -> Result<()> {
    let (_, channel) = crate::split_target(target)?;
    let Some(gate) = gate_of(release, channel)? else {
        return Ok(());
    };
    let Some(serving) = serving.filter(|s| *s != release.id) else {
        return Ok(());
    };
    let version = current_version(&gate, check);
    let why = match &version {
        Ok(v) => {
            let decisions = store.eval_gates_between(&release.id, serving).await?;
            match missing(&decisions, &gate, v, &release.id, serving) {
                None => return Ok(()),
                Some(why) => why,
            }
        }
        Err(e) => e.clone(),
    };
    let Some(reason) = &check.override_reason else {
        return Err(ControlError::Forbidden(format!(
            "{target} is gated on dataset `{}` (alpha {}, margin {}) and {} cannot go on it: {why}. \
             Run the dataset against both releases and gate them: \
             `seam eval run {} --release {serving}` (the baseline, served there now), `seam eval run {} --release {}` (the candidate), \
             then `seam eval gate CANDIDATE_RUN --baseline BASELINE_RUN --alpha {} --margin {}`; \
             or, as an admin, deploy with --override-gate REASON",
            gate.dataset,
            gate.alpha,
            gate.margin,
            release.id,
            gate.dataset,
            gate.dataset,
            release.id,
            gate.alpha,
            gate.margin
        )));
    };
    actor.require_admin(&format!("overriding the gate of {target}"))?;
    if reason.trim().is_empty() {
        return Err(ControlError::Invalid(
            "--override-gate needs a reason: say why the release goes on without a passing gate"
                .into(),
        ));
    }
    record_change(
        store,
        &actor.name,
        change::GATE_OVERRIDDEN,
        target,
        Some(json!({"release": serving})),
        json!({
            "release": release.id,
            "dataset": gate.dataset,
            "dataset_version": version.ok(),
            "reason": reason,
            "missing": why,
        }),
        &release.prompt,
    )
    .await
}
