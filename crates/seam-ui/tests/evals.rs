//! Evals and gates: the runs, one run's cases, and the gate decisions with the intervals they
//! stored, from a seeded store; what a case says is escaped.

mod common;

use common::*;
use http::{StatusCode, header};

#[tokio::test]
async fn the_runs_and_the_gate_decisions_with_their_stored_intervals() {
    let mut w = World::new().await;
    seed_evals(&w.store).await;
    assert_eq!(
        w.get("/ui/evals", None).await.headers[header::LOCATION],
        "/ui/signin"
    );
    let (session, _) = w.sign_in(VIC).await;
    let a = w.get("/ui/evals", Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    for run in ["evr_base", "evr_cand"] {
        assert!(
            a.body
                .contains(&format!("<a href=\"/ui/evals/{run}\">{run}</a>")),
            "{}",
            a.body
        );
    }
    assert!(a.body.contains("<td>release rel_b</td>"), "{}", a.body);
    assert!(
        a.body
            .contains("<td>1/1/0</td><td>50.0%</td><td>1&#x2f;2 50.0% [9.4%, 90.5%]</td>"),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains("<td>2/0/0</td><td>100.0%</td><td>2&#x2f;2 100.0% [34.2%, 100.0%]</td>"),
        "{}",
        a.body
    );
    assert!(a.body.contains("decision-fail\">fail</td>"), "{}", a.body);
    assert!(a.body.contains("rel_b against rel_a"));
    assert!(
        a.body.contains("paired, alpha 0.05, margin 0.02"),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn one_run_shows_each_case_escaped_and_its_gate() {
    let mut w = World::new().await;
    seed_evals(&w.store).await;
    let (session, _) = w.sign_in(ADA).await;
    let a = w.get("/ui/evals/evr_cand", Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(
        a.body.contains("c&lt;script&gt;2&lt;&#x2f;script&gt;"),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains("wanted &lt;script&gt;alert(2)&lt;&#x2f;script&gt;")
    );
    assert!(
        a.body
            .contains("contains fail: no &lt;b&gt;match&lt;&#x2f;b&gt;"),
        "{}",
        a.body
    );
    assert!(!a.body.contains("<script>") && !a.body.contains("<b>match"));
    assert!(
        a.body
            .contains("<a href=\"/ui/calls/call_acme1\">call_acme1</a>")
    );
    assert!(a.body.contains("1&#x2f;2 50.0% [9.4%, 90.5%]"));
    assert!(a.body.contains("decision-fail\">fail</td>"));
    let none = w.get("/ui/evals/evr_nope", Some(&session)).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert!(none.body.contains("There is no eval run `evr_nope`."));
}

#[tokio::test]
async fn a_run_of_a_release_made_with_eval_cases_in_it_is_marked_contaminated() {
    let mut w = World::new().await;
    seed_evals(&w.store).await;
    // An owner made rel_b with case c1 of dataset qa in it (`--allow-contamination`).
    w.store
        .append_audit(
            "ana",
            "release.contamination_allowed",
            "rel_b",
            None,
            Some(
                serde_json::json!({"release": "rel_b", "reason": "few-shots for <now>",
                    "cases": [{"dataset": "qa", "case": "c1"}]})
                .to_string(),
            ),
            seam_store::now_ms(),
        )
        .await
        .expect("audit");
    let (session, _) = w.sign_in(VIC).await;
    let a = w.get("/ui/evals", Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // evr_cand (rel_b) passes 1 of 2; without c1, its clean subset passes 0 of 1.
    assert!(
        a.body.contains(
            "<td>50.0% <strong class=\"contaminated\" title=\"CONTAMINATED: release rel_b contains 1 case(s) of this dataset (c1; allowed by ana: few-shots for &lt;now&gt;); pass rate 50.0% on all cases, 0.0% on the clean subset (1 results)\">CONTAMINATED</strong> (clean subset 0.0%)</td>"
        ),
        "{}",
        a.body
    );
    // evr_base (rel_a) is not.
    assert_eq!(
        a.body.matches("CONTAMINATED</strong>").count(),
        1,
        "{}",
        a.body
    );
    let one = w.get("/ui/evals/evr_cand", Some(&session)).await;
    assert!(
        one.body.contains(
            "<dt>Contaminated</dt><dd class=\"contaminated\">CONTAMINATED: release rel_b"
        ),
        "{}",
        one.body
    );
}
