//! The canaries pages and Home's failing canaries, from runs stored as `seam canary run`
//! stores them: a golden that passed and then failed (a renamed tool, a reworded answer, a
//! reason and an event carrying markup), one that passes, one that is flaky.

mod common;

use common::*;
use http::StatusCode;
use seam_evals::canary::diff;
use seam_evals::{Output, ToolCall};
use seam_store::{CanaryRunRecord, Store, now_ms};
use seam_vocab::{CanaryTrigger, CanaryVerdict};
use serde_json::json;

const DAY_MS: i64 = 86_400_000;

/// Text as MiniJinja's autoescape writes it.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

fn run(
    id: &str,
    golden: &str,
    started_ms: i64,
    verdict: CanaryVerdict,
    release: &str,
    model: &str,
    detail: serde_json::Value,
) -> CanaryRunRecord {
    CanaryRunRecord {
        id: id.into(),
        golden: golden.into(),
        started_ms,
        finished_ms: Some(started_ms + 4_200),
        verdict,
        trigger: CanaryTrigger::Manual,
        release_id: Some(release.into()),
        served_model: Some(model.into()),
        golden_version: "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12".into(),
        detail: detail.to_string(),
    }
}

/// The recorded answer and the replay of `refund-demo`'s turn: the tool renamed and the
/// answer reworded.
fn outputs() -> (Output, Output) {
    let call = |name: &str| ToolCall {
        id: Some("call_1".into()),
        name: name.into(),
        arguments: r#"{"order_id":"ORD-1234"}"#.into(),
    };
    let recorded = Output {
        text: Some("Your refund of 42.50 for order ORD-1234 was approved by Sarah.".into()),
        tool_calls: vec![call("lookup_order")],
        finish_reason: Some("tool_calls".into()),
        latency_ms: Some(800.0),
        cost_usd: Some(0.0004),
        ..Output::default()
    };
    let replayed = Output {
        text: Some("Your refund for order ORD-1234 is pending review.".into()),
        tool_calls: vec![call("find_order")],
        finish_reason: Some("tool_calls".into()),
        latency_ms: Some(1_200.0),
        cost_usd: Some(0.0004),
        ..Output::default()
    };
    (recorded, replayed)
}

/// `refund-demo` passed two hours ago on rel_a and fails now on rel_b; `greeting` passes;
/// `tone` is flaky and never passed.
async fn seed(store: &dyn Store) -> Vec<String> {
    let now = now_ms();
    let recorded_ms = now - 10 * DAY_MS;
    let (recorded, replayed) = outputs();
    let d = diff(&recorded, &replayed);
    let lines = d.lines();
    let since = json!({
        "summary": "recorded 2026-03-04 09:12:00 against rel_a, model sim-large-2026-01; since then: 1 deploy, 1 served-model change",
        "events": [
            {"time": "2026-03-10 10:00:00", "kind": "release_deploy", "message": "ada deployed rel_b to <i>production</i>"},
            {"time": "2026-03-11 10:00:00", "kind": "served_model_changed", "message": "local now serves sim-large-2026-02"},
        ],
    });
    let recorded_doc =
        json!({"ms": recorded_ms, "release": "rel_a", "served_model": "sim-large-2026-01"});
    let turn = |outcome: &str, reason: &str, model: &str, release: &str| {
        json!({
            "case_id": "refund-demo#1",
            "outcome": outcome,
            "reason": reason,
            "output": replayed,
            "call_id": "call_acme1",
            "served_model": model,
            "release": release,
        })
    };
    let passed = json!({
        "repeats": [{"outcome": "pass", "turns": [turn("pass", "", "sim-large-2026-01", "rel_a")]}],
        "retried": false,
        "diffs": [],
        "since": {"summary": "recorded against rel_a; since then: no change on the timeline", "events": []},
        "recorded": recorded_doc,
    });
    let failing_turn = turn(
        "fail",
        "tool-call: wanted lookup_order, got find_order; <script>alert(3)</script>",
        "sim-large-2026-02",
        "rel_b",
    );
    let failed = json!({
        "repeats": [
            {"outcome": "fail", "turns": [failing_turn.clone()], "stopped": "the recorded result of `lookup_order` had no call"},
            {"outcome": "fail", "turns": [failing_turn]},
        ],
        "retried": true,
        "diffs": [{"turn": "refund-demo#1", "diff": d}],
        "since": since,
        "recorded": recorded_doc,
    });
    let flaky = json!({"repeats": [], "retried": false, "diffs": [], "since": {"summary": "no recording: judged by its assertions alone", "events": []}, "recorded": {"ms": null}});
    for r in [
        run(
            "cnr_1",
            "refund-demo",
            now - 2 * 3_600_000,
            CanaryVerdict::Pass,
            "rel_a",
            "sim-large-2026-01",
            passed.clone(),
        ),
        run(
            "cnr_2",
            "refund-demo",
            now - 60_000,
            CanaryVerdict::Fail,
            "rel_b",
            "sim-large-2026-02",
            failed,
        ),
        run(
            "cnr_3",
            "greeting",
            now - 30_000,
            CanaryVerdict::Pass,
            "rel_a",
            "sim-large-2026-01",
            passed,
        ),
        run(
            "cnr_4",
            "tone",
            now - 20_000,
            CanaryVerdict::Flaky,
            "rel_b",
            "sim-large-2026-02",
            flaky,
        ),
    ] {
        store.insert_canary_run(&r).await.expect("canary run");
    }
    lines
}

#[tokio::test]
async fn the_list_shows_each_golden_with_its_last_verdict_pass_and_recording() {
    let mut w = World::new().await;
    let (session, _) = w.sign_in(ADA).await;
    let empty = w.get("/ui/canaries", Some(&session)).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert!(
        empty
            .body
            .contains("seam canary record CALL_ID --name NAME"),
        "{}",
        empty.body
    );
    seed(w.store.as_ref()).await;
    let list = w.get("/ui/canaries", Some(&session)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let b = &list.body;
    for want in [
        r#"<a href="/ui/canaries/refund-demo">refund-demo</a>"#,
        r#"<td class="canary-fail">fail</td>"#,
        r#"<a href="/ui/canaries/greeting">greeting</a>"#,
        r#"<td class="canary-flaky">flaky</td>"#,
        "rel_b, sim-large-2026-02",
        "against rel_a, sim-large-2026-01",
        "10.0 days",
        "since then: 1 deploy, 1 served-model change",
        "no recording",
        "never",
    ] {
        assert!(b.contains(want), "{want} missing: {b}");
    }
    // The nav links the page.
    assert!(b.contains(r#"<a href="/ui/canaries">Canaries</a>"#));

    let fails = w.get("/ui/canaries?verdict=fail", Some(&session)).await;
    assert_eq!(fails.status, StatusCode::OK);
    assert!(fails.body.contains("/ui/canaries/refund-demo"));
    assert!(
        !fails.body.contains("/ui/canaries/greeting"),
        "{}",
        fails.body
    );
    let errors = w.get("/ui/canaries?verdict=error", Some(&session)).await;
    assert!(
        errors.body.contains("No golden's last verdict is error"),
        "{}",
        errors.body
    );
    let bad = w.get("/ui/canaries?verdict=broken", Some(&session)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("verdict"), "{}", bad.body);

    // A viewer reads them too, as `seam canaries` lets any user.
    let (vic, _) = w.sign_in(VIC).await;
    let seen = w.get("/ui/canaries", Some(&vic)).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.contains("/ui/canaries/refund-demo"));
}

#[tokio::test]
async fn a_golden_page_shows_the_last_run_in_full_and_its_history() {
    let mut w = World::new().await;
    let lines = seed(w.store.as_ref()).await;
    let (session, _) = w.sign_in(ADA).await;
    let page = w.get("/ui/canaries/refund-demo", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let b = &page.body;
    assert!(b.contains("<h1>Canary refund-demo</h1>"), "{b}");
    // The diff's lines, escaped: the renamed tool and the reworded answer.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("tool call removed: `lookup_order`"))
            && lines
                .iter()
                .any(|l| l.contains("tool call added: `find_order`"))
            && lines.iter().any(|l| l.starts_with("answer: ")),
        "{lines:?}"
    );
    for l in &lines {
        assert!(b.contains(&html(l)), "diff line {l} missing: {b}");
    }
    // A reason carrying markup is text.
    assert!(
        b.contains("&lt;script&gt;alert(3)&lt;&#x2f;script&gt;"),
        "{b}"
    );
    assert!(!b.contains("<script>alert(3)"), "{b}");
    assert!(
        b.contains("ada deployed rel_b to &lt;i&gt;production&lt;&#x2f;i&gt;"),
        "{b}"
    );
    // The replayed calls are linked; the stop is said.
    assert!(
        b.contains(r#"<a href="/ui/calls/call_acme1">call_acme1</a>"#),
        "{b}"
    );
    assert!(b.contains("had no call"), "{b}");
    assert!(b.contains("replayed again after a failing round"), "{b}");
    // The last pass, the recording and the history, newest first.
    assert!(
        b.contains("against release rel_a, model sim-large-2026-01"),
        "{b}"
    );
    assert!(b.contains("10.0 days ago"), "{b}");
    let fail_at = b.find(r#"<td class="canary-fail">fail (replayed again)"#);
    let pass_at = b.find(r#"<td class="canary-pass">pass</td>"#);
    assert!(
        matches!((fail_at, pass_at), (Some(f), Some(p)) if f < p),
        "history not newest first: {b}"
    );
    assert!(b.contains("<code>ab12cd34ef56</code>"), "{b}");

    let one = w
        .get("/ui/canaries/refund-demo?limit=1", Some(&session))
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(
        !one.body.contains(r#"<td class="canary-pass">pass</td>"#),
        "{}",
        one.body
    );
    assert!(one.body.contains("The newest 1 runs"), "{}", one.body);
    for bad in ["0", "1001", "x"] {
        let a = w
            .get(
                &format!("/ui/canaries/refund-demo?limit={bad}"),
                Some(&session),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "limit={bad}");
    }

    // A golden whose run kept no diff or recording still reads.
    let tone = w.get("/ui/canaries/tone", Some(&session)).await;
    assert_eq!(tone.status, StatusCode::OK, "{}", tone.body);
    assert!(
        tone.body
            .contains("no recording: judged by its assertions alone")
    );

    let unknown = w.get("/ui/canaries/nope%3Cb%3E", Some(&session)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    assert!(unknown.body.contains("nope&lt;b&gt;"), "{}", unknown.body);
}

#[tokio::test]
async fn home_lists_the_failing_and_flaky_canaries() {
    let mut w = World::new().await;
    let (session, _) = w.sign_in(ADA).await;
    let none = w.get("/ui/", Some(&session)).await;
    assert!(
        none.body.contains("<h2>Failing canaries</h2>"),
        "{}",
        none.body
    );
    assert!(none.body.contains("No canary is failing"), "{}", none.body);
    seed(w.store.as_ref()).await;
    let home = w.get("/ui/", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    let b = &home.body;
    assert!(!b.contains("No canary is failing"), "{b}");
    assert!(
        b.contains(r#"<a href="/ui/canaries/refund-demo">refund-demo</a>"#),
        "{b}"
    );
    assert!(b.contains(r#"<a href="/ui/canaries/tone">tone</a>"#), "{b}");
    assert!(
        !b.contains("/ui/canaries/greeting"),
        "a passing golden is not failing: {b}"
    );
}
