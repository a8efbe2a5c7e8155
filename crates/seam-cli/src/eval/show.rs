//! `seam eval runs` and `seam eval show RUN [--junit FILE]`, and the summary `run` ends with.

use super::{Reasons, short};
use crate::cli::StoreArgs;
use crate::format::{clean, table};
use anyhow::Context;
use seam_control::contaminated::{Mark, mark_of};
use seam_store::{Audit, EvalResultRecord, EvalRunRecord, Evals};
use seam_vocab::EvalVerdict;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

struct Counts {
    pass: usize,
    fail: usize,
    error: usize,
    spend: f64,
}

fn counts(results: &[EvalResultRecord]) -> Counts {
    let mut c = Counts {
        pass: 0,
        fail: 0,
        error: 0,
        spend: 0.0,
    };
    for r in results {
        match r.verdict {
            EvalVerdict::Pass => c.pass += 1,
            EvalVerdict::Fail => c.fail += 1,
            EvalVerdict::Error => c.error += 1,
        }
        c.spend += r.cost_usd.unwrap_or(0.0);
    }
    c
}

fn rate(c: &Counts) -> Option<f64> {
    let n = c.pass + c.fail + c.error;
    (n > 0).then(|| c.pass as f64 / n as f64)
}

fn run_json(run: &EvalRunRecord, results: &[EvalResultRecord], mark: Option<&Mark>) -> Value {
    let c = counts(results);
    json!({
        "contaminated": mark.map(|m| m.json(results)),
        "id": run.id,
        "created_ms": run.created_ms,
        "finished_ms": run.finished_ms,
        "status": run.status,
        "dataset": run.dataset,
        "dataset_version": run.dataset_version,
        "target_kind": run.target_kind,
        "target": run.target,
        "served_models": run.served_models,
        "repeats": run.repeats,
        "cases": run.cases,
        "expected_results": run.cases * run.repeats,
        "results": results.len(),
        "pass": c.pass,
        "fail": c.fail,
        "error": c.error,
        "pass_rate": rate(&c),
        "spend_usd": c.spend,
        "actor": run.actor,
    })
}

fn reasons(r: &EvalResultRecord) -> Reasons {
    serde_json::from_str(&r.reasons).unwrap_or(Reasons {
        reason: r.reasons.clone(),
        grades: Vec::new(),
        group: None,
        required: false,
    })
}

/// The end of `seam eval run`: what the run holds now.
pub(super) fn summary(
    run: &EvalRunRecord,
    results: &[EvalResultRecord],
    mark: Option<&Mark>,
    as_json: bool,
) -> anyhow::Result<()> {
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&run_json(run, results, mark))?
        );
        return Ok(());
    }
    let c = counts(results);
    println!("run {}: {}", run.id, run.status);
    println!(
        "dataset {} (version {}), {} `{}`, served by {}",
        clean(&run.dataset),
        short(&run.dataset_version),
        run.target_kind,
        clean(&run.target),
        if run.served_models.is_empty() {
            "-".to_string()
        } else {
            run.served_models.join(", ")
        }
    );
    println!(
        "{} of {} results: {} pass, {} fail, {} error ({}); spend ${:.4}",
        results.len(),
        run.cases * run.repeats,
        c.pass,
        c.fail,
        c.error,
        rate(&c).map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0)),
        c.spend
    );
    if let Some(m) = mark {
        println!("{}", m.line(results));
    }
    Ok(())
}

/// The run's contamination mark, read with the audit chain.
pub(super) async fn mark(
    store: &seam_store::SqlStore,
    run: &EvalRunRecord,
    results: &[EvalResultRecord],
) -> anyhow::Result<Option<Mark>> {
    let audit = store.list_audit().await?;
    Ok(mark_of(store, run, results, &audit).await?)
}

pub async fn list(store_args: &StoreArgs, as_json: bool) -> anyhow::Result<()> {
    let (store, _who) = crate::actor::open_as(store_args).await?;
    let runs = store.list_eval_runs().await?;
    let audit = store.list_audit().await?;
    let mut rows = Vec::new();
    let mut docs = Vec::new();
    for run in &runs {
        let (_, results) = store
            .get_eval_run(&run.id)
            .await?
            .context("a listed run is gone")?;
        let mark = mark_of(&store, run, &results, &audit).await?;
        if as_json {
            docs.push(run_json(run, &results, mark.as_ref()));
            continue;
        }
        let c = counts(&results);
        let pass = rate(&c).map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0));
        rows.push(vec![
            run.id.clone(),
            run.status.to_string(),
            clean(&run.dataset).into_owned(),
            short(&run.dataset_version).to_string(),
            format!("{} {}", run.target_kind, clean(&run.target)),
            format!("{}/{}", results.len(), run.cases * run.repeats),
            match &mark {
                None => pass,
                Some(m) => format!(
                    "{pass} CONTAMINATED (clean subset {})",
                    seam_control::contaminated::pct(seam_control::contaminated::pass_rate(
                        m.clean(&results).into_iter()
                    ))
                ),
            },
        ]);
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&json!({"runs": docs}))?);
    } else if rows.is_empty() {
        println!("no eval runs yet (`seam eval run DATASET --route NAME --gateway URL`)");
    } else {
        print!(
            "{}",
            table(
                &[
                    "RUN", "STATUS", "DATASET", "VERSION", "TARGET", "RESULTS", "PASS"
                ],
                &rows
            )
        );
    }
    Ok(())
}

pub async fn show(
    store_args: &StoreArgs,
    id: &str,
    as_json: bool,
    junit_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let (store, _who) = crate::actor::open_as(store_args).await?;
    let (run, results) = store
        .get_eval_run(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no eval run `{}` (see `seam eval runs`)", clean(id)))?;
    if let Some(path) = junit_file {
        std::fs::write(path, junit(&run, &results))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mark = mark(&store, &run, &results).await?;
    if as_json {
        let mut doc = run_json(&run, &results, mark.as_ref());
        doc["cases"] = results
            .iter()
            .map(|r| {
                let why = reasons(r);
                json!({
                    "case": r.case_id,
                    "repeat": r.repeat_index,
                    "verdict": r.verdict,
                    "score": r.score,
                    "reason": why.reason,
                    "grades": why.grades,
                    "group": why.group,
                    "required": why.required,
                    "call_id": r.call_id,
                    "latency_ms": r.latency_ms,
                    "cost_usd": r.cost_usd,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    summary(&run, &results, mark.as_ref(), false)?;
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                clean(&r.case_id).into_owned(),
                r.repeat_index.to_string(),
                r.verdict.to_string(),
                r.score.map_or("-".into(), |s| format!("{s:.2}")),
                r.call_id.clone().unwrap_or_else(|| "-".into()),
                clean(&reasons(r).reason).into_owned(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        println!();
        print!(
            "{}",
            table(
                &["CASE", "REPEAT", "VERDICT", "SCORE", "CALL", "REASON"],
                &rows
            )
        );
    }
    Ok(())
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no way to write most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one testcase per case (its repeats together: it fails when one repeat fails,
/// errors when one errored and none failed), a failure's message its reasons.
pub(super) fn junit(run: &EvalRunRecord, results: &[EvalResultRecord]) -> String {
    let mut by_case: BTreeMap<&str, Vec<&EvalResultRecord>> = BTreeMap::new();
    for r in results {
        by_case.entry(r.case_id.as_str()).or_default().push(r);
    }
    let mut failures = 0;
    let mut errors = 0;
    let mut body = String::new();
    for (case, rs) in &by_case {
        let time: i64 = rs.iter().filter_map(|r| r.latency_ms).sum();
        let _ = write!(
            body,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml(&run.dataset),
            xml(case),
            time as f64 / 1000.0
        );
        let failed: Vec<&&EvalResultRecord> = rs
            .iter()
            .filter(|r| r.verdict == EvalVerdict::Fail)
            .collect();
        let errored: Vec<&&EvalResultRecord> = rs
            .iter()
            .filter(|r| r.verdict == EvalVerdict::Error)
            .collect();
        let (tag, bad) = if !failed.is_empty() {
            failures += 1;
            ("failure", failed)
        } else if !errored.is_empty() {
            errors += 1;
            ("error", errored)
        } else {
            body.push_str("/>\n");
            continue;
        };
        let message: Vec<String> = bad
            .iter()
            .map(|r| format!("repeat {}: {}", r.repeat_index, reasons(r).reason))
            .collect();
        let details: Vec<String> = bad
            .iter()
            .flat_map(|r| {
                reasons(r).grades.into_iter().map(move |g| {
                    format!(
                        "repeat {} {} {}: {}",
                        r.repeat_index,
                        g.assertion,
                        g.outcome.as_str(),
                        g.reason
                    )
                })
            })
            .collect();
        let _ = write!(
            body,
            ">\n      <{tag} message=\"{}\" type=\"{tag}\">{}</{tag}>\n    </testcase>\n",
            xml(&message.join("; ")),
            xml(&details.join("\n"))
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"seam eval\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\">\n  <testsuite name=\"{}\" id=\"{}\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\">\n{body}  </testsuite>\n</testsuites>\n",
        xml(&run.dataset),
        xml(&run.id),
        n = by_case.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_vocab::EvalStatus;

    #[test]
    fn junit_escapes_what_cases_and_reasons_say() {
        let run = EvalRunRecord {
            id: "evr_1".into(),
            created_ms: 1,
            finished_ms: None,
            dataset: "a&b".into(),
            dataset_version: "v".into(),
            target_kind: "route".into(),
            target: "chat".into(),
            served_models: vec![],
            repeats: 1,
            cases: 2,
            status: EvalStatus::Complete,
            actor: "ana".into(),
        };
        let reasons = json!({"reason": "wanted \"<x>\"\u{1}", "grades": []}).to_string();
        let results = vec![
            EvalResultRecord {
                run_id: "evr_1".into(),
                case_id: "c<1>".into(),
                repeat_index: 0,
                created_ms: 1,
                verdict: EvalVerdict::Fail,
                score: Some(0.0),
                reasons,
                call_id: None,
                latency_ms: Some(1500),
                cost_usd: None,
                case_hash: None,
            },
            EvalResultRecord {
                case_id: "c2".into(),
                verdict: EvalVerdict::Error,
                reasons: "{}".into(),
                ..EvalResultRecord {
                    run_id: "evr_1".into(),
                    case_id: String::new(),
                    repeat_index: 0,
                    created_ms: 1,
                    verdict: EvalVerdict::Pass,
                    score: None,
                    reasons: String::new(),
                    call_id: None,
                    latency_ms: None,
                    cost_usd: None,
                    case_hash: None,
                }
            },
        ];
        let xml = junit(&run, &results);
        assert!(
            xml.contains("tests=\"2\" failures=\"1\" errors=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("classname=\"a&amp;b\" name=\"c&lt;1&gt;\" time=\"1.500\""),
            "{xml}"
        );
        assert!(
            xml.contains("message=\"repeat 0: wanted &quot;&lt;x&gt;&quot;\u{fffd}\""),
            "{xml}"
        );
        assert!(xml.contains("<error message="), "{xml}");
    }
}
