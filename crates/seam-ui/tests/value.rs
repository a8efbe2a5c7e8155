//! The value page: the ledger entries of a quarter summed per prompt and in total (overrides
//! and repeated regressions not counted, each run's spend once), every figure recomputed here
//! by hand; the entries, contamination marked and escaped; the empty state, a bad period, and
//! the CSV download, the same as `seam report value --format csv`.

mod common;

use common::*;
use http::{StatusCode, header};
use seam_evals::stats::Interval;
use seam_evals::value::{Estimate, LedgerEntry};
use seam_store::{Store, ValueEntryRecord, now_ms};
use serde_json::json;
use std::collections::BTreeMap;

fn est(estimate: f64, low: f64, high: f64) -> Estimate {
    Estimate {
        estimate,
        low,
        high,
    }
}

/// A ledger entry of `prompt`: `release` gated against `baseline`, its runs' spend.
fn ledger(
    prompt: &str,
    (release, baseline): (&str, &str),
    decision: &str,
    failures: Option<Estimate>,
    cost: Option<Estimate>,
    runs: &[(&str, f64)],
) -> LedgerEntry {
    let run_spend_usd: BTreeMap<String, f64> =
        runs.iter().map(|(r, u)| (r.to_string(), *u)).collect();
    LedgerEntry {
        release: Some(release.into()),
        baseline_release: Some(baseline.into()),
        prompt: Some(prompt.into()),
        dataset: "billing".into(),
        dataset_version: "ab".repeat(32),
        decision: decision.into(),
        candidate_run: runs[0].0.into(),
        baseline_run: runs[1].0.into(),
        failure_rate_change: Some(0.1),
        failure_rate_change_interval: Some(Interval {
            low: -0.01,
            high: 0.2,
        }),
        calls_in_window: Some(700),
        window_days: 7.0,
        calls_per_day: Some(100.0),
        horizon_days: 30.0,
        blocked: decision == "fail",
        failures_avoided: failures,
        failure_cost_usd: cost.map(|_| 2.0),
        cost_avoided_usd: cost,
        eval_spend_usd: run_spend_usd.values().sum(),
        run_spend_usd,
        overridden_by: None,
        counted_in_newer: false,
        method: "test".into(),
    }
}

async fn put(store: &dyn Store, id: &str, at: i64, e: &LedgerEntry) {
    store
        .insert_value_entry(&ValueEntryRecord {
            id: id.into(),
            created_ms: at,
            gate_id: format!("evg_{id}"),
            prompt: e.prompt.clone().unwrap_or_default(),
            dataset: e.dataset.clone(),
            dataset_version: e.dataset_version.clone(),
            decision: e.decision.clone(),
            entry: serde_json::to_string(e).expect("entry"),
            actor: "ana".into(),
        })
        .await
        .expect("value entry");
}

/// `12.30 [-1.00, 25.00]`, as the page prints an estimate.
fn shown(e: f64, low: f64, high: f64) -> String {
    format!("{e:.2} [{low:.2}, {high:.2}]")
}

#[tokio::test]
async fn the_quarter_summed_per_prompt_and_its_entries() {
    let mut w = World::new().await;
    let now = now_ms();
    let s = w.store.as_ref();
    // support-bot: a blocked regression gated twice (the older one is a repeat), and a pass.
    let a = ledger(
        "support-bot",
        ("rel_s2", "rel_s1"),
        "fail",
        Some(est(300.0, -30.0, 600.0)),
        Some(est(600.0, -60.0, 1200.0)),
        &[("evr_a", 0.5), ("evr_b", 0.25)],
    );
    put(s, "vl_e", now - 50_000, &a).await;
    put(s, "vl_a", now - 40_000, &a).await;
    let pass = ledger(
        "support-bot",
        ("rel_s3", "rel_s1"),
        "pass",
        None,
        None,
        &[("evr_c", 0.1), ("evr_b", 0.25)],
    );
    put(s, "vl_b", now - 30_000, &pass).await;
    // billing-bot: a blocked regression with no failure cost, its candidate made with eval
    // cases in it; and one deployed anyway.
    let c = ledger(
        "billing-bot",
        ("rel_c2", "rel_c1"),
        "fail",
        Some(est(50.0, 10.0, 90.0)),
        None,
        &[("evr_d", 0.2), ("evr_e", 0.3)],
    );
    put(s, "vl_c", now - 20_000, &c).await;
    let d = ledger(
        "billing-bot",
        ("rel_d2", "rel_d1"),
        "fail",
        Some(est(1000.0, 500.0, 1500.0)),
        None,
        &[("evr_f", 0.1), ("evr_e", 0.3)],
    );
    put(s, "vl_d", now - 10_000, &d).await;
    s.append_audit(
        "ada",
        "eval_gate.overridden",
        "billing-bot@production",
        Some(json!({"release": "rel_d1"}).to_string()),
        Some(json!({"release": "rel_d2", "reason": "hotfix"}).to_string()),
        now - 5_000,
    )
    .await
    .expect("override");
    s.append_audit(
        "bo",
        "release.contamination_allowed",
        "rel_c2",
        None,
        Some(
            json!({"release": "rel_c2", "reason": "<script>alert(1)</script>", "datasets": ["billing"],
                "cases": [{"dataset": "billing", "case": "c07", "part": "input", "place": "system", "metric": "ngram"}]})
            .to_string(),
        ),
        now - 60_000,
    )
    .await
    .expect("contamination");

    let q = seam_control::value::quarter_of(now);
    let (session, _) = w.sign_in(VIC).await;
    let page = w
        .get(&format!("/ui/value?quarter={q}"), Some(&session))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let default = w.get("/ui/value", Some(&session)).await;
    assert_eq!(
        default.body, page.body,
        "the current quarter is the default"
    );
    let body = &page.body;
    assert!(body.contains("<a href=\"/ui/value\">Value</a>"), "nav");

    // By hand. support-bot: three decisions, one counted regression (the older is repeated);
    // runs evr_a, evr_b and evr_c once each.
    let spend_s = 0.5 + 0.25 + 0.1;
    let support = format!(
        "<td><a href=\"/ui/prompts/support-bot\">support-bot</a></td><td>3</td><td>1</td><td>0</td><td>1</td><td>{}</td><td>{}</td><td>0</td><td>{spend_s:.4}</td><td>{}</td>",
        shown(300.0, -30.0, 600.0),
        shown(600.0, -60.0, 1200.0),
        shown(600.0 / spend_s, -60.0 / spend_s, 1200.0 / spend_s),
    );
    assert!(body.contains(&support), "{support}\n{body}");
    // billing-bot: two decisions, one overridden (not counted), one without a failure cost.
    let spend_b = 0.2 + 0.3 + 0.1;
    let billing = format!(
        "<td><a href=\"/ui/prompts/billing-bot\">billing-bot</a></td><td>2</td><td>1</td><td>1</td><td>0</td><td>{}</td><td>-</td><td>1</td><td>{spend_b:.4}</td><td>-</td>",
        shown(50.0, 10.0, 90.0),
    );
    assert!(body.contains(&billing), "{billing}\n{body}");
    let spend = spend_s + spend_b;
    let total = format!(
        "<tr class=\"total\"><td>TOTAL</td><td>5</td><td>2</td><td>1</td><td>1</td><td>{}</td><td>{}</td><td>1</td><td>{spend:.4}</td><td>{}</td>",
        shown(350.0, -20.0, 690.0),
        shown(600.0, -60.0, 1200.0),
        shown(600.0 / spend, -60.0 / spend, 1200.0 / spend),
    );
    assert!(body.contains(&total), "{total}\n{body}");
    assert!(body.contains("Failures avoided, ESTIMATE [low, high]"));
    assert!(body.contains("Eval spend $, ACTUAL"));
    assert!(body.contains("Method: ESTIMATES. failures avoided = calls per day"));

    // The entries, newest first, each linked to its releases and runs.
    let at = |id: &str| body.find(id).unwrap_or_else(|| panic!("{id} shown"));
    assert!(at("rel_d2") < at("rel_c2") && at("rel_c2") < at("rel_s3"));
    assert!(body.contains(
        "<a href=\"/ui/prompts/billing-bot#rel_c2\">rel_c2</a> → <a href=\"/ui/prompts/billing-bot#rel_c1\">rel_c1</a>"
    ));
    assert!(body.contains(
        "<a href=\"/ui/evals/evr_d\">evr_d</a> against <a href=\"/ui/evals/evr_e\">evr_e</a>"
    ));
    assert!(body.contains("<td>+10.0% [-1.0%, +20.0%]</td><td>100.0 (700 in 7 days)</td>"));
    assert!(body.contains("overridden by ada: deployed anyway, not counted"));
    assert!(body.contains("counted in a newer decision of the same releases"));
    assert!(body.contains(
        "<strong>contaminated</strong>: candidate rel_c2: 1 case of billing (bo: &lt;script&gt;alert(1)&lt;&#x2f;script&gt;)"
    ), "{body}");
    assert!(!body.contains("<script>alert"));
    assert!(body.contains(&format!("{} over 30 days", shown(300.0, -30.0, 600.0))));

    // The CSV download is the CLI's table.
    let csv = w
        .get(&format!("/ui/value.csv?quarter={q}"), Some(&session))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let (start, end) = seam_control::value::quarter(&q).expect("quarter");
    let report = seam_control::value::report(w.store.as_ref(), start, end)
        .await
        .expect("report");
    assert_eq!(csv.body, report.csv());
    let total_line = csv.body.lines().last().expect("rows");
    assert!(
        total_line.starts_with("TOTAL,")
            && total_line.contains(",5,2,1,1,350,-20,690,600,-60,1200,1,"),
        "{total_line}"
    );
    let doc = w
        .get(&format!("/ui/value.json?quarter={q}"), Some(&session))
        .await;
    let doc: serde_json::Value = serde_json::from_str(&doc.body).expect("json");
    assert_eq!(doc["total"]["decisions"], 5);
    assert_eq!(doc["entries"].as_array().map(Vec::len), Some(5));
}

#[tokio::test]
async fn an_empty_period_and_a_bad_one() {
    let mut w = World::new().await;
    let (session, _) = w.sign_in(ADA).await;
    let a = w.get("/ui/value?quarter=1999q1", Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(
        a.body
            .contains("No gate decisions from 1999-01-01 to 1999-03-31"),
        "{}",
        a.body
    );
    assert!(a.body.contains("value=\"1999Q1\""), "{}", a.body);
    assert!(a.body.contains("<a href=\"/ui/value?quarter=1998Q4\">"));
    assert!(!a.body.contains("<table"));
    let a = w.get("/ui/value", Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("No gate decisions from"), "{}", a.body);
    let a = w.get("/ui/value?since=90d", Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("value=\"90d\""), "{}", a.body);
    for (query, says) in [
        (
            "quarter=2026Q5",
            "quarter `2026Q5`: expected a year and a quarter, such as 2026Q4",
        ),
        ("quarter=%3Cb%3E", "quarter `&lt;b&gt;`"),
        ("since=forever", "since `forever`: give a window such as"),
        (
            "quarter=2026Q4&since=7d",
            "give a quarter or a since window, not both",
        ),
    ] {
        for page in ["/ui/value", "/ui/value.csv"] {
            let a = w.get(&format!("{page}?{query}"), Some(&session)).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{page}?{query}");
            assert!(a.body.contains(says), "{page}?{query}: {}", a.body);
        }
    }
}
