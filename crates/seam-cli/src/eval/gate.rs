//! `seam eval gate CANDIDATE --baseline BASELINE`: both runs' results paired case by case and
//! given to [`seam_evals::gate`]; the decision is printed, stored on the audit chain and the
//! change timeline, and is the exit code (0 pass, 1 fail, 3 inconclusive).

use super::{Reasons, short};
use crate::cli::StoreArgs;
use crate::format::clean;
use seam_control::contaminated::{Mark, mark_of, pct, release_of};
use seam_evals::value::{DEFAULT_HORIZON_DAYS, check_horizon};
use seam_evals::{Decision, GateConfig, PairedCase, Run, Verdict};
use seam_store::{
    Audit, EvalGateRecord, EvalResultRecord, EvalRunRecord, Evals, EventRecord, Events,
};
use seam_vocab::{EvalVerdict, EventKind};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

fn side_run(r: &EvalResultRecord) -> Run {
    Run {
        verdict: match r.verdict {
            EvalVerdict::Pass => Verdict::Pass,
            EvalVerdict::Fail => Verdict::Fail,
            EvalVerdict::Error => Verdict::Error,
        },
        score: r.score,
    }
}

/// Each case either run has a result for, with both sides' runs in repeat order; a side with
/// no result for a case has no runs (the gate counts it missing).
pub(crate) fn paired(
    baseline: &[EvalResultRecord],
    candidate: &[EvalResultRecord],
) -> Vec<PairedCase> {
    let mut cases: BTreeMap<&str, PairedCase> = BTreeMap::new();
    for (r, is_candidate) in baseline
        .iter()
        .map(|r| (r, false))
        .chain(candidate.iter().map(|r| (r, true)))
    {
        let why: Option<Reasons> = serde_json::from_str(&r.reasons).ok();
        let c = cases
            .entry(r.case_id.as_str())
            .or_insert_with(|| PairedCase {
                id: r.case_id.clone(),
                group: None,
                required: false,
                baseline: Vec::new(),
                candidate: Vec::new(),
            });
        if let Some(why) = why {
            c.group = c.group.take().or(why.group);
            c.required |= why.required;
        }
        if is_candidate {
            c.candidate.push(side_run(r));
        } else {
            c.baseline.push(side_run(r));
        }
    }
    // Results come ordered by case then repeat, so each side is in repeat order already.
    cases.into_values().collect()
}

async fn load(
    store: &impl Evals,
    id: &str,
    role: &str,
) -> anyhow::Result<(EvalRunRecord, Vec<EvalResultRecord>)> {
    store.get_eval_run(id).await?.ok_or_else(|| {
        anyhow::anyhow!("no eval run `{}` ({role}; see `seam eval runs`)", clean(id))
    })
}

/// How `seam eval gate` decides and prints.
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    pub alpha: Option<f64>,
    pub margin: Option<f64>,
    pub accept_contaminated: bool,
    /// The value ledger's horizon (default [`DEFAULT_HORIZON_DAYS`]).
    pub horizon_days: Option<f64>,
    pub json: bool,
}

/// `seam eval gate`: [`decide`], then the process exits with the decision's code (0 pass,
/// 1 fail, 3 inconclusive).
pub async fn gate(
    store_args: &StoreArgs,
    candidate: &str,
    baseline: &str,
    options: &GateOptions,
) -> anyhow::Result<()> {
    let decision = decide(store_args, candidate, baseline, options).await?;
    let code = decision.exit_code();
    if code != 0 {
        let _ = std::io::stdout().flush();
        std::process::exit(code);
    }
    Ok(())
}

/// Compares the two runs, stores the decision and its value ledger entry, puts it on the
/// audit chain and the timeline, and prints the report.
pub async fn decide(
    store_args: &StoreArgs,
    candidate: &str,
    baseline: &str,
    options: &GateOptions,
) -> anyhow::Result<Decision> {
    let GateOptions {
        alpha,
        margin,
        accept_contaminated,
        horizon_days,
        json: as_json,
    } = *options;
    let horizon_days = check_horizon(horizon_days.unwrap_or(DEFAULT_HORIZON_DAYS))
        .map_err(|e| anyhow::anyhow!("--horizon-days: {e}"))?;
    let mut config = GateConfig::default();
    if let Some(a) = alpha {
        config.alpha = a;
    }
    if let Some(m) = margin {
        config.margin = m;
    }
    config.validate()?;
    let (store, who) = crate::actor::open_to_act(store_args).await?;
    let (cand, cand_results) = load(&store, candidate, "the candidate").await?;
    let (base, base_results) = load(&store, baseline, "the baseline").await?;
    // A decision feeds the deploys of the prompt either run called: the actor must be one
    // who may run each.
    for r in [&cand, &base] {
        seam_control::evals::require_eval(
            &store,
            &who,
            &r.target_kind,
            &r.target,
            &format!(
                "gating with eval run {} ({} `{}`)",
                r.id,
                r.target_kind,
                clean(&r.target)
            ),
        )
        .await?;
    }
    if cand.dataset_version != base.dataset_version {
        anyhow::bail!(
            "the runs are on different datasets: candidate {} on `{}` version {}, baseline {} on `{}` version {}; a gate compares runs of one dataset version",
            cand.id,
            clean(&cand.dataset),
            short(&cand.dataset_version),
            base.id,
            clean(&base.dataset),
            short(&base.dataset_version)
        );
    }
    // A run whose release contains cases of the dataset is no evidence unless accepted.
    let audit = store.list_audit().await?;
    let mut marks: Vec<(&str, &[EvalResultRecord], Mark)> = Vec::new();
    for (role, run, results) in [
        ("candidate", &cand, cand_results.as_slice()),
        ("baseline", &base, base_results.as_slice()),
    ] {
        if let Some(m) = mark_of(&store, run, results, &audit).await? {
            marks.push((role, results, m));
        }
    }
    if !marks.is_empty() && !accept_contaminated {
        let lines: Vec<String> = marks
            .iter()
            .map(|(role, results, m)| format!("the {role}: {}", m.line(results)))
            .collect();
        anyhow::bail!(
            "a contaminated run is no evidence for a gate:\n  {}\nRun the dataset without those cases, or gate with --accept-contaminated (the decision is then marked contaminated)",
            lines.join("\n  ")
        );
    }
    let contaminated: BTreeSet<String> = marks
        .iter()
        .flat_map(|(_, _, m)| m.cases.iter().cloned())
        .collect();
    let cases = paired(&base_results, &cand_results);
    let report = seam_evals::gate(&cases, &config)?;
    let decision = report.decision;
    // Beside the full report, the one on the cases no release contains.
    let clean_report = if contaminated.is_empty() {
        None
    } else {
        let clean: Vec<_> = cases
            .iter()
            .filter(|c| !contaminated.contains(&c.id))
            .cloned()
            .collect();
        seam_evals::gate(&clean, &config).ok()
    };
    let contamination = (!contaminated.is_empty()).then(|| {
        json!({
            "cases": contaminated,
            "runs": marks.iter().map(|(role, results, m)| json!({"run": role, "mark": m.json(results)})).collect::<Vec<_>>(),
            "clean_decision": clean_report.as_ref().map(|r| r.decision.as_str()),
            "clean_baseline_pass_rate": clean_report.as_ref().map(|r| r.baseline),
            "clean_candidate_pass_rate": clean_report.as_ref().map(|r| r.candidate),
        })
    });
    let cand_release = release_of(&store, &cand, &cand_results).await?;
    let base_release = release_of(&store, &base, &base_results).await?;
    let gate_id = format!("evg_{:016x}", rand::random::<u64>());
    store
        .insert_eval_gate(&EvalGateRecord {
            id: gate_id.clone(),
            created_ms: seam_store::now_ms(),
            candidate_run: cand.id.clone(),
            baseline_run: base.id.clone(),
            candidate_release: cand_release.clone(),
            baseline_release: base_release.clone(),
            dataset: cand.dataset.clone(),
            dataset_version: cand.dataset_version.clone(),
            decision: decision.as_str().to_string(),
            alpha: config.alpha,
            margin: config.margin,
            actor: who.name.clone(),
        })
        .await?;
    let ledger = super::ledger::record(
        &store,
        &super::ledger::Decided {
            gate_id: &gate_id,
            candidate: &cand,
            baseline: &base,
            candidate_results: &cand_results,
            baseline_results: &base_results,
            candidate_release: cand_release.as_deref(),
            baseline_release: base_release.as_deref(),
            report: &report,
            horizon_days,
            actor: &who.name,
        },
    )
    .await?;
    let details = json!({
        "candidate": cand.id,
        "baseline": base.id,
        "candidate_release": cand_release,
        "baseline_release": base_release,
        "dataset": cand.dataset,
        "dataset_version": cand.dataset_version,
        "decision": decision.as_str(),
        "alpha": config.alpha,
        "margin": config.margin,
        "seed": config.seed,
        "baseline_pass_rate": report.baseline,
        "candidate_pass_rate": report.candidate,
        "pass_to_fail": report.flipped.pass_to_fail,
        "fail_to_pass": report.flipped.fail_to_pass,
        "required_failures": report.required_failures,
        "mde": report.mde,
        "contaminated": contamination,
    });
    seam_control::audit(
        &store,
        &who.name,
        "eval.gate",
        &cand.id,
        None,
        details.clone(),
    )
    .await?;
    let kind = match decision {
        Decision::Pass => EventKind::EvalGatePassed,
        Decision::Fail => EventKind::EvalGateFailed,
        Decision::Inconclusive => EventKind::EvalGateInconclusive,
    };
    let mut event_details = details;
    event_details["actor"] = json!(who.name);
    store
        .insert_event(&EventRecord::new(
            kind,
            format!(
                "{}: eval gate {} for run {} against {} on dataset {}{}",
                who.name,
                decision.as_str(),
                cand.id,
                base.id,
                cand.dataset,
                if contaminated.is_empty() {
                    ""
                } else {
                    " (CONTAMINATED: accepted)"
                }
            ),
            event_details,
        ))
        .await?;
    if as_json {
        let doc = json!({
            "candidate": cand.id,
            "baseline": base.id,
            "candidate_release": cand_release,
            "baseline_release": base_release,
            "dataset": cand.dataset,
            "dataset_version": cand.dataset_version,
            "exit_code": decision.exit_code(),
            "report": report,
            "contaminated": contamination,
            "clean_report": clean_report,
            "ledger": ledger,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "candidate {} against baseline {} on dataset {} (version {})",
            cand.id,
            base.id,
            clean(&cand.dataset),
            short(&cand.dataset_version)
        );
        print!("{}", seam_evals::render(&report));
        if !marks.is_empty() {
            for (role, results, m) in &marks {
                println!("the {role}: {}", m.line(results));
            }
            match &clean_report {
                Some(r) => println!(
                    "CONTAMINATED, accepted: on the clean subset ({} cases) the candidate passes {}, the baseline {}: decision {} (the full report above: {})",
                    r.cases,
                    pct(r.candidate.rate),
                    pct(r.baseline.rate),
                    r.decision.as_str(),
                    decision.as_str()
                ),
                None => println!("CONTAMINATED, accepted: no clean subset to gate"),
            }
        }
        print!("{}", super::ledger::render(&ledger));
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(case: &str, repeat: i64, verdict: EvalVerdict, reasons: &str) -> EvalResultRecord {
        EvalResultRecord {
            run_id: "evr_1".into(),
            case_id: case.into(),
            repeat_index: repeat,
            created_ms: 1,
            verdict,
            score: Some(1.0),
            reasons: reasons.into(),
            call_id: None,
            latency_ms: None,
            cost_usd: None,
            case_hash: None,
        }
    }

    #[test]
    fn pairs_read_group_and_required_from_the_stored_reasons() {
        let tagged = r#"{"reason": "ok", "grades": [], "group": "g1", "required": true}"#;
        let baseline = vec![
            result("a", 0, EvalVerdict::Pass, tagged),
            result("a", 1, EvalVerdict::Pass, tagged),
            result("b", 0, EvalVerdict::Pass, "not json"),
        ];
        let candidate = vec![
            result("a", 0, EvalVerdict::Fail, tagged),
            result("a", 1, EvalVerdict::Error, tagged),
        ];
        let cases = paired(&baseline, &candidate);
        assert_eq!(cases.len(), 2);
        let a = &cases[0];
        assert_eq!(
            (a.id.as_str(), a.group.as_deref(), a.required),
            ("a", Some("g1"), true)
        );
        let verdicts: Vec<Verdict> = a.candidate.iter().map(|r| r.verdict).collect();
        assert_eq!(verdicts, [Verdict::Fail, Verdict::Error]);
        // A case the candidate has no result for has no runs there: the gate counts it
        // missing.
        let b = &cases[1];
        assert_eq!(
            (b.baseline.len(), b.candidate.len(), b.required),
            (1, 0, false)
        );
    }
}
