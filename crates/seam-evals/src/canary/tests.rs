//! The derived assertions graded by the real graders: a golden holds against its own
//! recording and breaks on a clearly changed answer; the diff of such changes.

use super::*;
use crate::graders::{Backend, BackendError, JudgeRequest};
use crate::{Case, Dataset, Grader, Outcome, Output, ToolCall};
use serde_json::{Value, json};
use std::path::Path;

/// Embeds a text as counts of its lowercased words hashed into 64 buckets: the same text is
/// at cosine 1, an unrelated one far below.
struct BagOfWords;

#[async_trait::async_trait]
impl Backend for BagOfWords {
    async fn embed(&self, _: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, BackendError> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; 64];
                for w in t.split_whitespace() {
                    let h = w
                        .to_lowercase()
                        .bytes()
                        .fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
                    v[h % 64] += 1.0;
                }
                v
            })
            .collect())
    }

    async fn judge(&self, _: &JudgeRequest) -> Result<String, BackendError> {
        Err(BackendError("no judge here".into()))
    }
}

fn opts() -> DeriveOptions {
    DeriveOptions {
        embedding_route: Some("embed".into()),
        ..DeriveOptions::default()
    }
}

/// The case a golden's turn is: the recorded answer as `expected`, its default assertions,
/// read by the dataset parser.
fn golden(recorded: &Output, opts: &DeriveOptions) -> Case {
    let expected = serde_json::to_value(recorded).unwrap_or_else(|e| panic!("{e}"));
    let line = json!({
        "id": "turn-1",
        "input": {"messages": [{"role": "user", "content": "Where is my refund?"}]},
        "expected": expected,
        "assert": default_assertions(recorded, opts),
    })
    .to_string();
    Dataset::parse_bytes(line.as_bytes(), Path::new("golden.jsonl"))
        .unwrap_or_else(|e| panic!("the derived assertions do not parse: {e}"))
        .cases
        .remove(0)
}

async fn grade(case: &Case, out: &Output) -> crate::CaseGrade {
    Grader::new(&BagOfWords).grade_case(case, out).await
}

#[track_caller]
fn failed(g: &crate::CaseGrade, assertion: &str) {
    assert_eq!(g.outcome, Outcome::Fail, "{g:#?}");
    let failing: Vec<&str> = g
        .grades
        .iter()
        .filter(|a| a.outcome != Outcome::Pass)
        .map(|a| a.assertion.as_str())
        .collect();
    assert_eq!(failing, [assertion], "{g:#?}");
}

fn tool_answer(name: &str, arguments: Value) -> Output {
    Output {
        tool_calls: vec![ToolCall {
            id: Some("call_1".into()),
            name: name.into(),
            arguments: arguments.to_string(),
        }],
        finish_reason: Some("tool_calls".into()),
        latency_ms: Some(300.0),
        cost_usd: Some(0.002),
        ..Output::default()
    }
}

fn lookup(order: &str, note: &str) -> Output {
    tool_answer(
        "lookup_order",
        json!({"order_id": order, "notify": true, "limit": 3, "note": note, "fields": ["status"]}),
    )
}

const NOTE: &str = "The customer wrote at length about a refund they expected last week and \
                    has not seen on their card statement yet.";

#[test]
fn a_tool_call_recording_derives_compatible_arguments() {
    let got = default_assertions(&lookup("ORD-1234", NOTE), &DeriveOptions::default());
    assert_eq!(
        got,
        [
            json!({"type": "tool-call", "value": {"name": "lookup_order", "arguments": {"order_id": "ORD-1234", "notify": true, "limit": 3}}}),
            json!({"type": "not-refusal"}),
            json!({"type": "latency-ms", "max": 600.0}),
            json!({"type": "cost-usd", "max": 0.003}),
        ]
    );
    let bare = Output {
        tool_calls: vec![ToolCall {
            id: None,
            name: "ping".into(),
            arguments: "not json".into(),
        }],
        latency_ms: Some(20.0),
        ..Output::default()
    };
    assert_eq!(
        default_assertions(&bare, &DeriveOptions::default()),
        [
            json!({"type": "tool-call", "value": {"name": "ping"}}),
            json!({"type": "not-refusal"}),
            json!({"type": "latency-ms", "max": 120.0}),
        ]
    );
}

#[test]
fn a_text_recording_derives_phrases_similarity_and_no_tool() {
    let recorded = Output {
        text: Some("Your refund of $42.50 for order ORD-1234 was approved by Sarah.".into()),
        cost_usd: Some(0.0),
        ..Output::default()
    };
    assert_eq!(
        default_assertions(&recorded, &opts()),
        [
            json!({"type": "tool-call", "value": "none"}),
            json!({"type": "not-refusal"}),
            json!({"type": "icontains-all", "value": ["42.50", "ORD-1234", "Sarah", "approved"]}),
            json!({"type": "similar", "value": recorded.text, "threshold": 0.8, "route": "embed"}),
        ]
    );
}

#[tokio::test]
async fn a_renamed_tool_or_a_changed_id_fails_free_text_may_change() {
    let recorded = lookup("ORD-1234", NOTE);
    let case = golden(&recorded, &opts());
    assert_eq!(grade(&case, &recorded).await.outcome, Outcome::Pass);
    let reworded = lookup("ORD-1234", "A refund is missing.");
    assert_eq!(grade(&case, &reworded).await.outcome, Outcome::Pass);
    let mut renamed = recorded.clone();
    renamed.tool_calls[0].name = "find_order".into();
    failed(&grade(&case, &renamed).await, "tool-call");
    failed(&grade(&case, &lookup("ORD-9999", NOTE)).await, "tool-call");
    let mut slow = recorded.clone();
    slow.latency_ms = Some(601.0);
    failed(&grade(&case, &slow).await, "latency-ms");
    let mut dear = recorded.clone();
    dear.cost_usd = Some(0.0031);
    failed(&grade(&case, &dear).await, "cost-usd");
}

#[tokio::test]
async fn a_refusal_must_stay_one_and_an_answer_must_not_become_one() {
    let refused = Output::text("I can't help with changing another customer's order.");
    let case = golden(&refused, &opts());
    assert_eq!(case.content["assert"][1], json!({"type": "refusal"}));
    assert_eq!(grade(&case, &refused).await.outcome, Outcome::Pass);
    let complied = Output::text("Sure: I changed another customer's order.");
    let g = grade(&case, &complied).await;
    assert_eq!(g.outcome, Outcome::Fail);
    assert!(
        g.grades
            .iter()
            .any(|a| a.assertion == "refusal" && a.outcome == Outcome::Fail)
    );

    let by_field = Output {
        refusal: Some("No.".into()),
        ..Output::default()
    };
    let case = golden(&by_field, &opts());
    assert_eq!(grade(&case, &by_field).await.outcome, Outcome::Pass);

    let answered = Output::text("Your order ORD-1234 ships on Monday.");
    let case = golden(&answered, &opts());
    assert_eq!(grade(&case, &answered).await.outcome, Outcome::Pass);
    let now_refuses = Output::text("I'm unable to help with order ORD-1234 on Monday.");
    let g = grade(&case, &now_refuses).await;
    assert!(
        g.grades
            .iter()
            .any(|a| a.assertion == "not-refusal" && a.outcome == Outcome::Fail)
    );
}

#[tokio::test]
async fn broken_json_fails() {
    let recorded =
        Output::text(r#"{"status": "approved", "order_id": "ORD-1234", "amount": 42.5}"#);
    // Without similarity: a few JSON tokens are too few for the test's embedding to keep
    // the broken answer near the recording.
    let case = golden(&recorded, &DeriveOptions::default());
    assert!(
        case.content["assert"]
            .as_array()
            .is_some_and(|a| a.contains(&json!({"type": "is-json"})))
    );
    assert_eq!(grade(&case, &recorded).await.outcome, Outcome::Pass);
    let broken = Output::text(r#"{"status": "approved", "order_id": "ORD-1234", "amount": 42.5"#);
    failed(&grade(&case, &broken).await, "is-json");
    // A bare number parses as JSON but is prose: no `is-json` for it.
    assert!(
        !default_assertions(&Output::text("42"), &opts()).contains(&json!({"type": "is-json"}))
    );
}

#[tokio::test]
async fn a_missing_id_fails_and_an_unrelated_answer_is_not_similar() {
    let recorded = Output {
        text: Some("Your refund of $42.50 for order ORD-1234 was approved by Sarah.".into()),
        latency_ms: Some(1200.0),
        ..Output::default()
    };
    let case = golden(&recorded, &opts());
    assert_eq!(grade(&case, &recorded).await.outcome, Outcome::Pass);
    let no_id = Output {
        text: Some("Your refund of $42.50 for your order was approved by Sarah.".into()),
        latency_ms: Some(900.0),
        ..Output::default()
    };
    failed(&grade(&case, &no_id).await, "icontains-all");
    let unrelated = Output {
        text: Some(
            "Refund 42.50 ORD-1234 sarah approved: bananas are yellow, skies are blue.".into(),
        ),
        latency_ms: Some(1200.0),
        ..Output::default()
    };
    failed(&grade(&case, &unrelated).await, "similar");
}

#[test]
fn assertion_values_an_assertion_may_not_hold_are_left_out() {
    let recorded = Output::text("Use {{name}} in the template for Acme.");
    let a = default_assertions(&recorded, &opts());
    assert!(a.iter().all(|a| a["type"] != "similar"), "{a:?}");
    let odd = DeriveOptions {
        similarity_threshold: 7.0,
        latency_factor: -1.0,
        latency_floor_ms: f64::NAN,
        cost_factor: 0.5,
        ..opts()
    };
    let recorded = Output {
        text: Some("fine".into()),
        latency_ms: Some(50.0),
        cost_usd: Some(0.01),
        ..Output::default()
    };
    let case = golden(&recorded, &odd);
    let a = &case.content["assert"];
    assert_eq!(a[2]["threshold"], json!(1.0));
    assert_eq!(a[3], json!({"type": "latency-ms", "max": 150.0}));
    assert_eq!(a[4], json!({"type": "cost-usd", "max": 0.01}));
}

#[test]
fn the_diff_of_a_renamed_tool() {
    let recorded = lookup("ORD-1234", NOTE);
    let mut replayed = recorded.clone();
    replayed.tool_calls[0].name = "find_order".into();
    replayed.latency_ms = Some(450.0);
    let d = diff(&recorded, &replayed);
    assert_eq!(d.tool_calls.removed, ["lookup_order"]);
    assert_eq!(d.tool_calls.added, ["find_order"]);
    assert!(d.tool_calls.arguments_changed.is_empty());
    assert_eq!(d.latency_ratio, Some(1.5));
    assert_eq!(d.cost_ratio, Some(1.0));
    assert!(!d.is_empty());
    assert_eq!(
        d.lines(),
        [
            "tool call removed: `lookup_order`",
            "tool call added: `find_order`",
            "latency: 1.50x the recording's",
            "cost: 1.00x the recording's",
        ]
    );
    let back: Diff = serde_json::from_value(serde_json::to_value(&d).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, d);
}

#[test]
fn the_diff_of_changed_arguments_pairs_the_call_that_changed() {
    let mut recorded = lookup("ORD-1234", NOTE);
    recorded.tool_calls.push(ToolCall {
        id: None,
        name: "lookup_order".into(),
        arguments: json!({"order_id": "ORD-5"}).to_string(),
    });
    let mut replayed = recorded.clone();
    replayed.tool_calls.reverse();
    replayed.tool_calls[0].arguments = json!({"order_id": "ORD-6"}).to_string();
    let d = diff(&recorded, &replayed);
    assert!(d.tool_calls.added.is_empty() && d.tool_calls.removed.is_empty());
    let c = &d.tool_calls.arguments_changed;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].keys, ["order_id"]);
    assert_eq!(c[0].recorded, r#"{"order_id":"ORD-5"}"#);
    assert_eq!(
        d.lines()[0],
        r#"tool call `lookup_order`: arguments changed (order_id): {"order_id":"ORD-5"} -> {"order_id":"ORD-6"}"#
    );
}

#[test]
fn the_diff_of_text_refusal_json_and_finish_reason() {
    let recorded = Output {
        text: Some(r#"{"status": "approved"}"#.into()),
        finish_reason: Some("stop".into()),
        ..Output::default()
    };
    let replayed = Output {
        text: Some("I can't help with that.".into()),
        finish_reason: Some("length".into()),
        ..Output::default()
    };
    let d = diff(&recorded, &replayed);
    assert_eq!(
        d.refusal,
        Some(Flip {
            from: false,
            to: true
        })
    );
    assert_eq!(
        d.json,
        Some(JsonChange {
            was: true,
            now: false
        })
    );
    assert_eq!((d.latency_ratio, d.cost_ratio), (None, None));
    assert_eq!(
        d.lines(),
        [
            r#"answer: [-{"status": "approved"}-] {+I can't help with that.+} (2 word(s) removed, 5 added)"#,
            "refusal: the recording answered, the replay refuses",
            "json: the recording was JSON, the replay is not",
            "finish reason: stop -> length",
        ]
    );
    let same = diff(&recorded, &recorded);
    assert!(same.is_empty() && same.lines().is_empty(), "{same:?}");
}
