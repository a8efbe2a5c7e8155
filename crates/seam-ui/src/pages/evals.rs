//! Evals and gates (`seam eval runs|show|gate`): the stored runs, one run's results case by
//! case, and the gate decisions, read from their `eval.gate` records on the audit chain, which
//! keep each side's pass rate with its interval as the gate computed it. Any signed-in user
//! reads them, as the CLI lets any user.

use super::*;
use seam_control::contaminated::{self, Mark};
use seam_store::{EvalResultRecord, EvalRunRecord};
use seam_vocab::EvalVerdict;

/// `seam eval runs`' numbers: results, pass, fail, error, pass rate, spend.
fn run_row(
    run: &EvalRunRecord,
    results: &[EvalResultRecord],
    gates: &[Value],
    mark: Option<&Mark>,
) -> Value {
    let count = |v: EvalVerdict| results.iter().filter(|r| r.verdict == v).count();
    let (pass, fail, error) = (
        count(EvalVerdict::Pass),
        count(EvalVerdict::Fail),
        count(EvalVerdict::Error),
    );
    let n = pass + fail + error;
    let spend: f64 = results.iter().filter_map(|r| r.cost_usd).sum();
    // The interval a gate decision stored for this run's side, the newest first.
    let interval = gates.iter().find_map(|g| {
        if g["candidate"] == run.id.as_str() {
            g["candidate_rate"].as_str().map(str::to_string)
        } else if g["baseline"] == run.id.as_str() {
            g["baseline_rate"].as_str().map(str::to_string)
        } else {
            None
        }
    });
    json!({
        "id": run.id,
        "segment": segment(&run.id),
        "created": timestamp(run.created_ms),
        "finished": run.finished_ms.map(timestamp),
        "status": run.status.to_string(),
        "dataset": run.dataset,
        "version": run.dataset_version.get(..12).unwrap_or(&run.dataset_version),
        "target": format!("{} {}", run.target_kind, run.target),
        "served_models": if run.served_models.is_empty() { "-".to_string() } else { run.served_models.join(", ") },
        "results": format!("{}/{}", results.len(), run.cases.saturating_mul(run.repeats)),
        "pass": pass,
        "fail": fail,
        "error": error,
        "rate": if n > 0 { pct(pass as f64 / n as f64) } else { "-".into() },
        "interval": interval.unwrap_or_else(|| "-".into()),
        "spend": format!("{spend:.4}"),
        "actor": run.actor,
        // As `seam eval runs` marks it: the release contains cases of the dataset.
        "contaminated": mark.map(|m| json!({
            "line": m.line(results),
            "clean_rate": contaminated::pct(contaminated::pass_rate(m.clean(results).into_iter())),
        })),
    })
}

/// A run's contamination mark, read with the audit chain (`audit`).
async fn mark(
    ui: &Ui,
    run: &EvalRunRecord,
    results: &[EvalResultRecord],
    audit: &[seam_store::AuditRecord],
) -> Result<Option<Mark>, ControlError> {
    contaminated::mark_of(ui.store.as_ref(), run, results, audit).await
}

/// A stored pass rate (`seam_evals::stats::Proportion`) as `passed/n rate [low, high]`.
fn proportion(p: &Value) -> String {
    match serde_json::from_value::<seam_evals::stats::Proportion>(p.clone()) {
        Ok(p) => format!(
            "{}/{} {} [{}, {}]",
            p.successes,
            p.n,
            p.rate.map_or("-".into(), pct),
            pct(p.interval.low),
            pct(p.interval.high)
        ),
        Err(_) => "-".into(),
    }
}

/// Every gate decision, newest first, from its audit record.
async fn gates(ui: &Ui) -> Result<Vec<Value>, ControlError> {
    let chain = ui.store.list_audit().await?;
    Ok(chain
        .iter()
        .rev()
        .filter(|r| r.action == "eval.gate")
        .filter_map(|r| {
            let d: Value = serde_json::from_str(r.after.as_deref()?).ok()?;
            let text = |k: &str| d[k].as_str().unwrap_or("-").to_string();
            Some(json!({
                "time": timestamp(r.created_ms),
                "actor": r.actor,
                "decision": text("decision"),
                "candidate": text("candidate"),
                "candidate_segment": segment(&text("candidate")),
                "baseline": text("baseline"),
                "baseline_segment": segment(&text("baseline")),
                "candidate_release": text("candidate_release"),
                "baseline_release": text("baseline_release"),
                "dataset": text("dataset"),
                "candidate_rate": proportion(&d["candidate_pass_rate"]),
                "baseline_rate": proportion(&d["baseline_pass_rate"]),
                "method": format!(
                    "paired, alpha {}, margin {}{}",
                    d["alpha"], d["margin"],
                    d["mde"].as_f64().map_or(String::new(), |m| format!(", detects drops of {} or more", pct(m)))
                ),
            }))
        })
        .collect())
}

/// GET /ui/evals: the runs, newest first, and the gate decisions.
pub(crate) async fn evals(State(ui): State<Arc<Ui>>, headers: HeaderMap) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let decisions = match gates(&ui).await {
        Ok(g) => g,
        Err(e) => return control_error(&ui, &who, e),
    };
    let runs = match ui.store.list_eval_runs().await {
        Ok(r) => r,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let audit = match ui.store.list_audit().await {
        Ok(a) => a,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let mut rows = Vec::new();
    for run in &runs {
        let results = match ui.store.get_eval_run(&run.id).await {
            Ok(found) => found.map(|(_, r)| r).unwrap_or_default(),
            Err(e) => return control_error(&ui, &who, e.into()),
        };
        let m = match mark(&ui, run, &results, &audit).await {
            Ok(m) => m,
            Err(e) => return control_error(&ui, &who, e),
        };
        rows.push(run_row(run, &results, &decisions, m.as_ref()));
    }
    ui.page(
        StatusCode::OK,
        "Evals and gates",
        "evals.html",
        json!({"runs": rows, "gates": decisions}),
        Some(&who),
    )
}

/// GET /ui/evals/{run}: a run, each (case, repeat)'s verdict, score and reasons, and the
/// gate decisions it is a side of.
pub(crate) async fn eval(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let (run, results) = match ui.store.get_eval_run(&id).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return ui.message(
                StatusCode::NOT_FOUND,
                &format!("There is no eval run `{id}`."),
                Some(&who),
            );
        }
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let decisions: Vec<Value> = match gates(&ui).await {
        Ok(g) => g
            .into_iter()
            .filter(|g| g["candidate"] == run.id.as_str() || g["baseline"] == run.id.as_str())
            .collect(),
        Err(e) => return control_error(&ui, &who, e),
    };
    let cases: Vec<Value> = results
        .iter()
        .map(|r| {
            // What `seam eval show` prints as the reason; the raw text when it is not JSON.
            let reasons: Value = serde_json::from_str(&r.reasons).unwrap_or(Value::Null);
            let reason = reasons["reason"]
                .as_str()
                .map_or_else(|| r.reasons.clone(), str::to_string);
            let grades: Vec<String> = reasons["grades"]
                .as_array()
                .map(|gs| {
                    gs.iter()
                        .map(|g| {
                            format!(
                                "{} {}: {}",
                                g["assertion"].as_str().unwrap_or("-"),
                                g["outcome"].as_str().unwrap_or("-"),
                                g["reason"].as_str().unwrap_or("")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "case": r.case_id,
                "repeat": r.repeat_index,
                "verdict": r.verdict.to_string(),
                "score": r.score.map_or("-".into(), |s| format!("{s:.2}")),
                "call": r.call_id,
                "call_segment": r.call_id.as_deref().map(segment),
                "latency_ms": r.latency_ms.map_or("-".into(), |l| l.to_string()),
                "cost": r.cost_usd.map_or("-".into(), |c| format!("{c:.6}")),
                "reason": reason,
                "grades": grades,
            })
        })
        .collect();
    let m = match ui.store.list_audit().await {
        Ok(audit) => match mark(&ui, &run, &results, &audit).await {
            Ok(m) => m,
            Err(e) => return control_error(&ui, &who, e),
        },
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let summary = run_row(&run, &results, &decisions, m.as_ref());
    ui.page(
        StatusCode::OK,
        &format!("Eval run {}", run.id),
        "eval.html",
        json!({"run": summary, "cases": cases, "gates": decisions}),
        Some(&who),
    )
}
