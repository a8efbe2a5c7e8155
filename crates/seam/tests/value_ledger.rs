//! The value ledger through the binary: `seam eval gate` writes an entry (traffic from the
//! records, failures avoided with an interval, cost, actual eval spend) and `seam report
//! value` sums the entries per prompt; every figure is recomputed here by hand.

mod support;

use seam_store::conformance::sample_call;
use seam_store::{
    Audit, CallRecord, EvalResultRecord, EvalRunRecord, Evals, RecordBatch, Records, ReleaseRecord,
    Releases,
};
use seam_vocab::{EvalStatus, EvalVerdict, Purpose};
use serde_json::Value;
use support::Store;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const VERSION: &str = "abababababababababababababababababababababababababababababababab";

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * (1.0 + b.abs())
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

async fn release(s: &seam_store::SqlStore, id: &str, prompt: &str, content: &str) {
    s.insert_release(&ReleaseRecord {
        id: id.into(),
        prompt: prompt.into(),
        content: content.into(),
        author: "bo".into(),
        created_ms: 1,
    })
    .await
    .unwrap();
}

fn call(id: &str, at: i64, release: &str, purpose: Purpose, cost: f64) -> CallRecord {
    let mut c = sample_call(id, at, "acme");
    c.release_id = Some(release.into());
    c.purpose = purpose;
    c.cost_usd = cost;
    c
}

/// A run of `release` on dataset `billing` whose cases in `failing` fail, each answered by an
/// eval call costing $0.01 served from that release.
async fn run(s: &seam_store::SqlStore, id: &str, release: &str, cases: usize, failing: usize) {
    let now = seam_store::now_ms();
    s.insert_eval_run(&EvalRunRecord {
        id: id.into(),
        created_ms: now - HOUR_MS,
        finished_ms: Some(now - HOUR_MS + 1),
        dataset: "billing".into(),
        dataset_version: VERSION.into(),
        target_kind: "release".into(),
        target: release.into(),
        served_models: vec!["sim-large-2026-01".into()],
        repeats: 1,
        cases: cases as i64,
        status: EvalStatus::Complete,
        actor: "ana".into(),
    })
    .await
    .unwrap();
    let mut results = Vec::new();
    let mut calls = Vec::new();
    for i in 0..cases {
        let call_id = format!("call_{id}_{i:02}");
        calls.push(call(&call_id, now - HOUR_MS, release, Purpose::Eval, 0.01));
        results.push(EvalResultRecord {
            run_id: id.into(),
            case_id: format!("c{i:02}"),
            repeat_index: 0,
            created_ms: now - HOUR_MS,
            verdict: if i < failing {
                EvalVerdict::Fail
            } else {
                EvalVerdict::Pass
            },
            score: None,
            reasons: "{}".into(),
            call_id: Some(call_id),
            latency_ms: Some(10),
            cost_usd: Some(0.01),
            case_hash: None,
        });
    }
    record(s, calls).await;
    s.insert_eval_results(&results).await.unwrap();
}

async fn record(s: &seam_store::SqlStore, calls: Vec<CallRecord>) {
    let attempts = calls
        .iter()
        .map(|c| seam_store::conformance::sample_attempt(c, 1, true))
        .collect();
    s.insert_batch(&RecordBatch {
        calls,
        attempts,
        streams: Vec::new(),
        contents: Vec::new(),
    })
    .await
    .unwrap();
}

/// Live traffic: `n` calls served from `release` in the last 7 days, and some outside it.
async fn live(s: &seam_store::SqlStore, release: &str, n: usize) {
    let now = seam_store::now_ms();
    let mut calls: Vec<CallRecord> = (0..n)
        .map(|i| {
            let at = now - 1_000 - (i as i64) * (6 * DAY_MS / n as i64);
            call(
                &format!("call_{release}_live_{i}"),
                at,
                release,
                Purpose::Live,
                0.0,
            )
        })
        .collect();
    // Eight days old: outside the window.
    for i in 0..5 {
        calls.push(call(
            &format!("call_{release}_old_{i}"),
            now - 8 * DAY_MS,
            release,
            Purpose::Live,
            0.0,
        ));
    }
    record(s, calls).await;
}

fn gate(store: &Store, args: &[&str]) -> (i32, Value) {
    let out = store.run(None, args);
    let text = String::from_utf8_lossy(&out.stdout);
    let doc = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), doc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_regression_is_estimated_from_the_records_and_reported() {
    let store = Store::new().await;
    let s = seam_store::open(&store.url).await.unwrap();
    release(
        &s,
        "rel_base",
        "billing-bot",
        r#"{"name":"billing-bot","failure_cost_usd":2.0}"#,
    )
    .await;
    release(
        &s,
        "rel_cand",
        "billing-bot",
        r#"{"name":"billing-bot","failure_cost_usd":2.0,"v":2}"#,
    )
    .await;
    release(&s, "rel_faqb", "faq-bot", r#"{"name":"faq-bot"}"#).await;
    release(&s, "rel_faqc", "faq-bot", r#"{"name":"faq-bot","v":2}"#).await;
    // billing: the candidate fails 10 of 40 cases the baseline passes.
    run(&s, "evr_bb", "rel_base", 40, 0).await;
    run(&s, "evr_bc", "rel_cand", 40, 10).await;
    run(&s, "evr_fb", "rel_faqb", 20, 0).await;
    run(&s, "evr_fc", "rel_faqc", 20, 0).await;
    live(&s, "rel_base", 70).await;
    live(&s, "rel_faqb", 14).await;

    let (code, doc) = gate(
        &store,
        &[
            "eval",
            "gate",
            "evr_bc",
            "--baseline",
            "evr_bb",
            "--horizon-days",
            "60",
            "--json",
        ],
    );
    assert_eq!(code, 1, "a fail: {doc}");
    let l = &doc["ledger"];
    let interval = &doc["report"]["difference"]["interval"];
    let (d_low, d_high) = (num(&interval["low"]), num(&interval["high"]));
    // By hand: 70 live calls in 7 days (the eval calls and the 8-day-old ones left out) is
    // 10 a day; x 60 days = 600 calls; the failure rate rose by 10/40 = 0.25.
    assert_eq!(l["calls_in_window"], 70);
    assert!(close(num(&l["calls_per_day"]), 10.0));
    assert!(close(num(&l["failure_rate_change"]), 0.25));
    let f = &l["failures_avoided"];
    assert!(close(num(&f["estimate"]), 150.0), "{f}");
    assert!(close(num(&f["low"]), -600.0 * d_high), "{f} {interval}");
    assert!(close(num(&f["high"]), -600.0 * d_low), "{f} {interval}");
    assert!(num(&f["low"]) > 0.0 && num(&f["high"]) < 600.0 * 0.25 * 2.0);
    let c = &l["cost_avoided_usd"];
    assert!(close(num(&c["estimate"]), 300.0) && close(num(&c["low"]), 2.0 * num(&f["low"])));
    // 80 eval calls of $0.01, from the call records.
    assert!(close(num(&l["eval_spend_usd"]), 0.80), "{l}");
    assert!(l["method"].as_str().unwrap().starts_with("ESTIMATES"));

    let (code, doc) = gate(
        &store,
        &[
            "eval",
            "gate",
            "evr_fc",
            "--baseline",
            "evr_fb",
            "--margin",
            "0.5",
            "--json",
        ],
    );
    assert_eq!(code, 0, "a pass: {doc}");
    assert!(doc["ledger"]["failures_avoided"].is_null());
    assert!(close(num(&doc["ledger"]["calls_per_day"]), 2.0));
    assert_eq!(doc["ledger"]["horizon_days"], 30.0);

    // The text output labels the estimates.
    let out = store.run(
        None,
        &[
            "eval",
            "gate",
            "evr_fc",
            "--baseline",
            "evr_fb",
            "--margin",
            "0.5",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("value ledger (ESTIMATES"), "{text}");
    assert!(
        text.contains("counts only (the prompt declares no failure_cost_usd)"),
        "{text}"
    );

    let report = store.json(&["report", "value", "--since", "90d", "--format", "json"]);
    let billing = &report["prompts"][0];
    assert_eq!(billing["prompt"], "billing-bot");
    assert_eq!(
        (
            billing["decisions"].clone(),
            billing["regressions_blocked"].clone()
        ),
        (1.into(), 1.into())
    );
    assert!(close(num(&billing["cost_avoided_usd"]["estimate"]), 300.0));
    assert!(close(num(&billing["eval_spend_usd"]), 0.80));
    // $300 avoided for $0.80 of evals.
    assert!(close(
        num(&billing["cost_avoided_per_usd"]["estimate"]),
        375.0
    ));
    let faq = &report["prompts"][1];
    assert_eq!(
        (faq["decisions"].clone(), faq["regressions_blocked"].clone()),
        (2.into(), 0.into())
    );
    // Two decisions on the same two runs: their $0.40 counted once.
    assert!(close(num(&faq["eval_spend_usd"]), 0.40), "{faq}");
    let total = &report["total"];
    assert!(close(num(&total["eval_spend_usd"]), 1.20));
    assert!(close(
        num(&total["cost_avoided_per_usd"]["estimate"]),
        250.0
    ));
    assert!(close(
        num(&total["failures_avoided"]["low"]),
        num(&f["low"])
    ));
    assert!(report["method"].as_str().unwrap().contains("ESTIMATES"));

    // CSV: one header row, a row per prompt and the total, ISO dates, plain numbers.
    let csv = store.ok(&["report", "value", "--since", "90d", "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header[0], "prompt");
    assert!(
        header.contains(&"failures_avoided_estimate") && header.contains(&"eval_spend_usd_actual")
    );
    for line in &lines[1..] {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{line}");
        for d in &cells[1..3] {
            let b = d.as_bytes();
            assert!(d.len() == 10 && b[4] == b'-' && b[7] == b'-', "{d}");
        }
        for n in &cells[3..] {
            assert!(n.is_empty() || n.parse::<f64>().is_ok(), "{n} in {line}");
        }
    }
    assert!(lines[3].starts_with("TOTAL,"));
    let spend_col = header
        .iter()
        .position(|h| *h == "eval_spend_usd_actual")
        .unwrap();
    assert_eq!(lines[3].split(',').nth(spend_col), Some("1.2"));

    // Markdown: the method under the table.
    let md = store.ok(&["report", "value", "--since", "90d"]);
    assert!(
        md.contains("| billing-bot |") && md.contains("\nMethod: ESTIMATES"),
        "{md}"
    );
    // A quarter with no decisions: zero rows but the total.
    let old = store.json(&["report", "value", "--quarter", "1999Q1", "--format", "json"]);
    assert_eq!(old["total"]["decisions"], 0);
    assert_eq!(old["period_start"], "1999-01-01");
    assert_eq!(old["period_end"], "1999-03-31");

    // Deployed anyway: the regression was not avoided, and who did it is named.
    s.append_audit(
        "root",
        "eval_gate.overridden",
        "billing-bot@production",
        Some(r#"{"release":"rel_base"}"#.into()),
        Some(r#"{"release":"rel_cand","reason":"hotfix"}"#.into()),
        seam_store::now_ms(),
    )
    .await
    .unwrap();
    let report = store.json(&["report", "value", "--format", "json"]);
    let billing = &report["prompts"][0];
    assert_eq!(
        (
            billing["regressions_blocked"].clone(),
            billing["overridden"].clone()
        ),
        (0.into(), 1.into())
    );
    assert!(billing["failures_avoided"].is_null());
    let entry = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["blocked"] == true)
        .unwrap();
    assert_eq!(entry["overridden_by"], "root");

    // The same regression gated again: counted once, in the newest decision.
    let (code, _) = gate(
        &store,
        &["eval", "gate", "evr_bc", "--baseline", "evr_bb", "--json"],
    );
    assert_eq!(code, 1);
    let report = store.json(&["report", "value", "--format", "json"]);
    let billing = &report["prompts"][0];
    assert_eq!(billing["decisions"], 2);
    assert_eq!(
        (billing["repeated"].clone(), billing["overridden"].clone()),
        (1.into(), 1.into())
    );

    // A horizon that is no number of days is refused before anything is stored.
    let bad = store.run(
        None,
        &[
            "eval",
            "gate",
            "evr_bc",
            "--baseline",
            "evr_bb",
            "--horizon-days",
            "0",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--horizon-days"));
    let after = store.json(&["report", "value", "--format", "json"]);
    // Four decisions before it: two of billing, two of faq.
    assert_eq!(after["total"]["decisions"], 4);

    let bad = store.run(None, &["report", "value", "--quarter", "2026Q5"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("2026Q4"));
}
