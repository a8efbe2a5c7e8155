//! The re-seed aggregate: what each tenant and key spent since each window's start, and the
//! open traces, each tenant's own.

use super::{sample_attempt, sample_call, sole_attempt};
use crate::{CallRecord, SpendQuery, SpendRow, Store, TraceSpend};

const B: i64 = 70_000_000;

fn call(id: &str, at: i64, tenant: &str, key: Option<&str>, trace: Option<&str>) -> CallRecord {
    let mut c = sample_call(id, at, tenant);
    c.route = "spend".into();
    c.key_id = key.map(str::to_string);
    c.trace_id = Some(trace.unwrap_or(id).to_string());
    c
}

pub(super) async fn spend_totals_windows_keys_and_open_traces(store: &dyn Store) {
    let mut inline = call(
        "call_sp_1",
        B + 100,
        "spend_a",
        Some("key_sa"),
        Some("tr_sp"),
    );
    let sole = sole_attempt(&mut inline, false);
    // Two attempts kept in the attempts table; the call row carries their totals.
    let multi = call(
        "call_sp_2",
        B + 2_000,
        "spend_a",
        Some("key_sa"),
        Some("tr_sp"),
    );
    let multi_attempts = vec![
        sample_attempt(&multi, 1, false),
        sample_attempt(&multi, 2, true),
    ];
    let mut refused = call(
        "call_sp_3",
        B + 3_000,
        "spend_a",
        Some("key_sa"),
        Some("tr_sp"),
    );
    refused.attempts = 0;
    refused.outcome = seam_vocab::Outcome::Refused;
    refused.status = 429;
    (
        refused.input_tokens,
        refused.output_tokens,
        refused.cost_usd,
    ) = (0, 0, 0.0);
    let later = call(
        "call_sp_4",
        B + 5_000,
        "spend_a",
        Some("key_sa"),
        Some("tr_sp"),
    );
    let mut own = call("call_sp_5", B + 1_500, "spend_a", None, None);
    let own_attempt = sole_attempt(&mut own, true);
    // Another tenant naming the same trace id: another trace.
    let mut other = call(
        "call_sp_6",
        B + 1_200,
        "spend_b",
        Some("key_sb"),
        Some("tr_sp"),
    );
    let other_attempt = sole_attempt(&mut other, false);
    // Eval traffic: counted like any call, its cost also apart (cost limits skip it).
    other.purpose = seam_vocab::Purpose::Eval;
    // A trace that started long ago and is still going, and one that went quiet.
    let mut long_first = call("call_sp_7", B - 5_000_000, "spend_a", None, Some("tr_long"));
    let long_first_attempt = sole_attempt(&mut long_first, false);
    let mut long_last = call("call_sp_8", B + 3_500, "spend_a", None, Some("tr_long"));
    let long_last_attempt = sole_attempt(&mut long_last, false);
    // Canary traffic: its cost apart from eval traffic's (each has its own setting).
    long_last.purpose = seam_vocab::Purpose::Canary;
    let mut quiet = call(
        "call_sp_9",
        B - 9_000_000,
        "spend_a",
        None,
        Some("tr_quiet"),
    );
    let quiet_attempt = sole_attempt(&mut quiet, false);
    let mut attempts = multi_attempts;
    attempts.extend([
        sole,
        own_attempt,
        other_attempt,
        long_first_attempt,
        long_last_attempt,
        quiet_attempt,
    ]);
    store
        .insert_records(
            &[
                inline.clone(),
                multi.clone(),
                refused,
                later,
                own.clone(),
                other.clone(),
                long_first.clone(),
                long_last.clone(),
                quiet,
            ],
            &attempts,
            &[],
        )
        .await
        .expect("insert");

    let spend = store
        .spend(&SpendQuery {
            window_starts: vec![B, B + 1_000, B],
            until_ms: B + 4_000,
            traces_since_ms: B,
        })
        .await
        .expect("spend");
    let mut rows: Vec<SpendRow> = spend
        .windows
        .into_iter()
        .filter(|r| r.tenant.starts_with("spend_"))
        .collect();
    for r in &mut rows {
        r.cost_usd = (r.cost_usd * 1e9).round() / 1e9;
        r.eval_cost_usd = (r.eval_cost_usd * 1e9).round() / 1e9;
        r.canary_cost_usd = (r.canary_cost_usd * 1e9).round() / 1e9;
    }
    let part = |calls: &[&CallRecord], purpose| {
        (calls
            .iter()
            .filter(|c| c.purpose == purpose)
            .map(|c| c.cost_usd)
            .sum::<f64>()
            * 1e9)
            .round()
            / 1e9
    };
    let row = |since_ms, tenant: &str, key: Option<&str>, calls: &[&CallRecord]| SpendRow {
        since_ms,
        tenant: tenant.into(),
        key_id: key.map(str::to_string),
        requests: calls.len() as i64,
        attempts: calls.iter().map(|c| c.attempts).sum(),
        input_tokens: calls.iter().map(|c| c.input_tokens).sum(),
        output_tokens: calls.iter().map(|c| c.output_tokens).sum(),
        cost_usd: (calls.iter().map(|c| c.cost_usd).sum::<f64>() * 1e9).round() / 1e9,
        eval_cost_usd: part(calls, seam_vocab::Purpose::Eval),
        canary_cost_usd: part(calls, seam_vocab::Purpose::Canary),
    };
    let mut want = vec![
        row(B, "spend_a", None, &[&own, &long_last]),
        row(B, "spend_a", Some("key_sa"), &[&inline, &multi]),
        row(B, "spend_b", Some("key_sb"), &[&other]),
        row(B + 1_000, "spend_a", None, &[&own, &long_last]),
        row(B + 1_000, "spend_a", Some("key_sa"), &[&multi]),
        row(B + 1_000, "spend_b", Some("key_sb"), &[&other]),
    ];
    let order = |r: &SpendRow| (r.since_ms, r.tenant.clone(), r.key_id.clone());
    rows.sort_by_key(order);
    want.sort_by_key(order);
    assert_eq!(
        rows, want,
        "refused calls and calls after until_ms are not spend"
    );

    let mut traces: Vec<TraceSpend> = spend
        .traces
        .into_iter()
        .filter(|t| t.tenant.starts_with("spend_"))
        .collect();
    for t in &mut traces {
        t.cost_usd = (t.cost_usd * 1e9).round() / 1e9;
    }
    let trace = |tenant: &str, id: &str, calls: &[&CallRecord], first_ms, last_ms| TraceSpend {
        tenant: tenant.into(),
        trace_id: id.into(),
        first_ms,
        last_ms,
        calls: calls.iter().filter(|c| c.attempts > 0).count() as i64,
        attempts: calls.iter().map(|c| c.attempts).sum(),
        tokens: calls.iter().map(|c| c.input_tokens + c.output_tokens).sum(),
        cost_usd: (calls.iter().map(|c| c.cost_usd).sum::<f64>() * 1e9).round() / 1e9,
    };
    assert_eq!(
        traces,
        vec![
            trace(
                "spend_a",
                "tr_long",
                &[&long_first, &long_last],
                B - 5_000_000,
                B + 3_500
            ),
            // The refused call opened no attempt but still belongs to the trace's time.
            trace("spend_a", "tr_sp", &[&inline, &multi], B + 100, B + 3_000),
            trace("spend_b", "tr_sp", &[&other], B + 1_200, B + 1_200),
        ],
        "open named traces, each tenant's own; calls that are their own trace are not listed"
    );
}
