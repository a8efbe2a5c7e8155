//! The value ledger entry of a gate decision (docs/evals.md "Value ledger"): the gate's
//! paired difference, the traffic the baseline release served and the runs' actual spend,
//! read from the records, turned into estimates by [`seam_evals::value`] and stored.

use seam_evals::GateReport;
use seam_evals::value::{LedgerEntry, LedgerInput, METHOD, TRAFFIC_WINDOW_DAYS, estimate};
use seam_store::{EvalResultRecord, EvalRunRecord, Evals, Records, Releases, ValueEntryRecord};
use std::collections::BTreeSet;

const DAY_MS: i64 = 86_400_000;

/// What a decision's ledger entry is made from.
pub(crate) struct Decided<'a> {
    pub gate_id: &'a str,
    pub candidate: &'a EvalRunRecord,
    pub baseline: &'a EvalRunRecord,
    pub candidate_results: &'a [EvalResultRecord],
    pub baseline_results: &'a [EvalResultRecord],
    pub candidate_release: Option<&'a str>,
    pub baseline_release: Option<&'a str>,
    pub report: &'a GateReport,
    pub horizon_days: f64,
    pub actor: &'a str,
}

/// The actual cost of the calls the results name, each call once: (USD, calls found).
pub(crate) async fn spend(
    store: &impl Records,
    results: &[&[EvalResultRecord]],
) -> anyhow::Result<(f64, u64)> {
    let ids: BTreeSet<&str> = results
        .iter()
        .flat_map(|r| r.iter().filter_map(|r| r.call_id.as_deref()))
        .collect();
    let (mut usd, mut found) = (0.0, 0u64);
    for id in ids {
        if let Some((call, _)) = store.get_call(id).await? {
            usd += call.cost_usd;
            found += 1;
        }
    }
    Ok((usd, found))
}

/// The prompt the decision is about and its declared failure cost, from the releases.
async fn prompt_of(
    store: &impl Releases,
    d: &Decided<'_>,
) -> anyhow::Result<(Option<String>, Option<f64>)> {
    for id in [d.candidate_release, d.baseline_release]
        .into_iter()
        .flatten()
    {
        if let Some(r) = store.get_release(id).await? {
            let cost = serde_json::from_str::<serde_json::Value>(&r.content)
                .ok()
                .and_then(|c| c.get("failure_cost_usd").and_then(|v| v.as_f64()))
                .filter(|c| c.is_finite() && *c >= 0.0);
            return Ok((Some(r.prompt), cost));
        }
    }
    // A prompt run without one release: its target is NAME@CHANNEL.
    let prompt = (d.candidate.target_kind == "prompt")
        .then(|| d.candidate.target.split('@').next().map(str::to_string))
        .flatten();
    Ok((prompt, None))
}

/// Computes, stores and returns the entry of a decision just stored.
pub(crate) async fn record(
    store: &(impl Records + Releases + Evals),
    d: &Decided<'_>,
) -> anyhow::Result<LedgerEntry> {
    let now_ms = seam_store::now_ms();
    let calls_in_window = match d.baseline_release {
        Some(r) => Some(
            store
                .live_calls_of_release(r, now_ms - (TRAFFIC_WINDOW_DAYS as i64) * DAY_MS, now_ms)
                .await?,
        ),
        None => None,
    };
    let (prompt, failure_cost_usd) = prompt_of(store, d).await?;
    let mut run_spend_usd = std::collections::BTreeMap::new();
    for (run, results) in [
        (d.candidate, d.candidate_results),
        (d.baseline, d.baseline_results),
    ] {
        let (usd, _) = spend(store, &[results]).await?;
        run_spend_usd.insert(run.id.clone(), usd);
    }
    let eval_spend_usd = run_spend_usd.values().sum();
    let decision = d.report.decision.as_str().to_string();
    let e = estimate(&LedgerInput {
        decision: decision.clone(),
        pass_difference: d.report.difference.estimate,
        pass_interval: d.report.difference.interval,
        calls_in_window,
        horizon_days: d.horizon_days,
        failure_cost_usd,
    });
    let entry = LedgerEntry {
        release: d.candidate_release.map(str::to_string),
        baseline_release: d.baseline_release.map(str::to_string),
        prompt: prompt.clone(),
        dataset: d.candidate.dataset.clone(),
        dataset_version: d.candidate.dataset_version.clone(),
        decision: decision.clone(),
        candidate_run: d.candidate.id.clone(),
        baseline_run: d.baseline.id.clone(),
        failure_rate_change: e.failure_rate_change,
        failure_rate_change_interval: e.failure_rate_change_interval,
        calls_in_window,
        window_days: TRAFFIC_WINDOW_DAYS,
        calls_per_day: e.calls_per_day,
        horizon_days: d.horizon_days,
        blocked: e.blocked,
        failures_avoided: e.failures_avoided,
        failure_cost_usd,
        cost_avoided_usd: e.cost_avoided_usd,
        eval_spend_usd,
        run_spend_usd,
        overridden_by: None,
        counted_in_newer: false,
        method: METHOD.to_string(),
    };
    store
        .insert_value_entry(&ValueEntryRecord {
            id: format!("val_{:016x}", rand::random::<u64>()),
            created_ms: now_ms,
            gate_id: d.gate_id.to_string(),
            prompt: prompt.unwrap_or_default(),
            dataset: entry.dataset.clone(),
            dataset_version: entry.dataset_version.clone(),
            decision,
            entry: serde_json::to_string(&entry)?,
            actor: d.actor.to_string(),
        })
        .await?;
    Ok(entry)
}

fn points(x: f64) -> String {
    format!("{:+.1}", x * 100.0)
}

/// The entry as `seam eval gate` prints it under the report.
pub(crate) fn render(e: &LedgerEntry) -> String {
    let mut out =
        String::from("value ledger (ESTIMATES, method in docs/evals.md \"Value ledger\"):\n");
    match (e.failure_rate_change, e.failure_rate_change_interval) {
        (Some(c), Some(i)) => out.push_str(&format!(
            "  failure-rate change, candidate minus baseline: {} points (interval {} to {})\n",
            points(c),
            points(i.low),
            points(i.high)
        )),
        (Some(c), None) => out.push_str(&format!(
            "  failure-rate change, candidate minus baseline: {} points (no interval)\n",
            points(c)
        )),
        _ => out.push_str("  failure-rate change: none (nothing compared)\n"),
    }
    match (e.calls_in_window, &e.baseline_release, e.calls_per_day) {
        (Some(n), Some(r), Some(per_day)) => out.push_str(&format!(
            "  traffic: {per_day:.1} calls/day ({n} live calls served from {r} in the last {} days)\n",
            e.window_days
        )),
        _ => out.push_str("  traffic: unknown (the baseline run names no one release)\n"),
    }
    match e.failures_avoided {
        Some(f) => out.push_str(&format!(
            "  failures avoided over {} days: ESTIMATE {:.1} (interval {:.1} to {:.1})\n",
            e.horizon_days, f.estimate, f.low, f.high
        )),
        None if e.blocked => {
            out.push_str("  failures avoided: not estimated (no rate change or no traffic)\n")
        }
        None => out.push_str(&format!(
            "  failures avoided: none (decision {}: nothing blocked)\n",
            e.decision
        )),
    }
    match (e.cost_avoided_usd, e.failure_cost_usd) {
        (Some(c), Some(cost)) => out.push_str(&format!(
            "  cost avoided at ${cost} a failure: ESTIMATE ${:.2} (interval ${:.2} to ${:.2})\n",
            c.estimate, c.low, c.high
        )),
        (None, Some(cost)) => out.push_str(&format!("  cost avoided: none (${cost} a failure)\n")),
        _ => {
            out.push_str("  cost avoided: counts only (the prompt declares no failure_cost_usd)\n")
        }
    }
    out.push_str(&format!(
        "  eval spend (actual, both runs' calls): ${:.4}\n",
        e.eval_spend_usd
    ));
    out
}
