//! OpenAI's `string_check` and `text_similarity` as OpenAI wrote them, and a case's
//! assertions weighed into its verdict as promptfoo weighs them.

mod common;

use common::{case_with, grade_with, is, refused, text};
use seam_evals::{Grade, Grader, NoBackend, Outcome, Verdict};
use serde_json::{Value, json};

#[tokio::test]
async fn string_check_renders_openai_templates() {
    let c = case_with(json!({
        "variables": {"reference_answer": "Paris"},
        "assert": [
            {"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}", "reference": "{{ item.reference_answer }}", "operation": "eq"},
            {"type": "string_check", "name": "ne", "input": "{{ sample.output_text }}", "reference": "Lyon", "operation": "ne"},
            {"type": "string_check", "name": "like", "input": "{{ sample.output_text }}", "reference": "ari", "operation": "like"},
            {"type": "string_check", "name": "ilike", "input": "{{ sample.output_text }}", "reference": "PARIS", "operation": "ilike"},
            {"type": "string_check", "name": "json", "input": "{{ sample.output_json.city }}", "reference": "{{ item.id }}", "operation": "eq"},
            {"type": "string_check", "name": "missing", "input": "{{ sample.output_text }}", "reference": "{{ item.nope }}", "operation": "eq"},
        ]
    }));
    let g = Grader::new(&NoBackend);
    let out = text("Paris");
    let outcomes: Vec<Outcome> = {
        let mut v = Vec::new();
        for a in &c.assertions {
            v.push(g.grade(a, &c, &out).await.outcome);
        }
        v
    };
    use Outcome::*;
    // A template reading what is not there (a field of an answer that is not JSON, an item
    // field the case lacks) cannot be rendered: an error, not a verdict on the answer.
    assert_eq!(outcomes, [Pass, Pass, Pass, Pass, Error, Error]);
    let j = g
        .grade(&c.assertions[4], &c, &text(r#"{"city": "c"}"#))
        .await;
    is(&j, Pass, "equals");
    assert!(
        refused(
            json!({"type": "string_check", "input": "x", "reference": "y", "operation": "glob"})
        )
        .contains("assert[0].operation: `glob`: one of eq, ne, like, ilike")
    );
    assert!(refused(json!({"type": "string_check", "input": "{% if %}", "reference": "y", "operation": "eq"})).contains("assert[0].input: the template does not compile"));
    assert!(refused(json!({"type": "string_check", "input": "x", "reference": "y", "operation": "eq", "negate": true})).contains("assert[0].negate: unknown key for string_check"));
    assert!(
        refused(json!({"type": "not-string_check"}))
            .contains("unknown assertion type `not-string_check`")
    );
    assert!(
        refused(json!({"type": "python", "source": "x"}))
            .contains("OpenAI's `python` grader is not supported")
    );
    assert!(
        refused(json!({"type": "javascript", "value": "x"}))
            .contains("runs code Seam does not run")
    );
}

#[tokio::test]
async fn text_similarity_metrics_and_the_ones_refused() {
    let ts = |metric: &str, threshold: f64| {
        json!({"type": "text_similarity", "name": "t", "input": "{{ sample.output_text }}",
               "reference": "{{ item.expected }}", "evaluation_metric": metric, "pass_threshold": threshold})
    };
    let e = Some(json!("The quick brown fox jumps over the lazy dog"));
    let out = text("The quick brown dog jumps on the log.");
    let g = grade_with(ts("rouge_1", 0.7), e.clone(), &out).await;
    assert_eq!(g.outcome, Outcome::Pass, "{g:?}");
    assert!((g.score.unwrap() - 12.0 / 17.0).abs() < 1e-12, "{g:?}");
    let g = grade_with(ts("rouge_l", 0.6), e.clone(), &out).await;
    assert_eq!(g.outcome, Outcome::Fail, "{g:?}");
    assert!(
        g.reason.contains("rouge_l 0.5882 < pass_threshold 0.6"),
        "{}",
        g.reason
    );
    let g = grade_with(
        ts("fuzzy_match", 0.9),
        Some(json!("this is a test")),
        &text("this is a test!"),
    )
    .await;
    assert_eq!(g.outcome, Outcome::Pass, "{g:?}");
    for m in ["bleu", "gleu", "meteor"] {
        let p = refused(ts(m, 0.5));
        assert!(
            p.contains(&format!(
                "assert[0].evaluation_metric: `{m}` is not supported by Seam"
            )),
            "{p}"
        );
    }
    assert!(refused(ts("rouge_9", 0.5)).contains("`rouge_9` is not a metric"));
    let mut no_threshold = ts("rouge_1", 0.5);
    no_threshold
        .as_object_mut()
        .unwrap()
        .remove("pass_threshold");
    assert!(refused(no_threshold).contains("assert[0].pass_threshold: missing"));
}

#[tokio::test]
async fn a_case_weighs_its_assertions_as_promptfoo_does() {
    let out = &text("Refunds take 5 days.");
    let g = Grader::new(&NoBackend);
    let grade_case = |extra: Value| {
        let c = case_with(extra);
        async move { g.grade_case(&c, out).await }
    };
    // All must pass without a threshold.
    let r = grade_case(json!({"assert": [
        {"type": "contains", "value": "5 days", "weight": 3},
        {"type": "contains", "value": "refunds"},
    ]}))
    .await;
    assert_eq!(r.outcome, Outcome::Fail);
    assert_eq!(r.score, Some(0.75));
    assert_eq!(r.reason, "failed: contains");
    assert_eq!(r.run().verdict, Verdict::Fail);
    assert_eq!(r.run().score, Some(0.75));
    // With a threshold, the weighted score decides.
    let r = grade_case(json!({"threshold": 0.7, "assert": [
        {"type": "contains", "value": "5 days", "weight": 3},
        {"type": "contains", "value": "refunds"},
    ]}))
    .await;
    assert_eq!(r.outcome, Outcome::Pass, "{r:?}");
    assert_eq!(r.reason, "score 0.750 >= threshold 0.7");
    // Weight 0: reported, not counted, not even when it errors.
    let r = grade_case(json!({"assert": [
        {"type": "contains", "value": "5 days"},
        {"type": "contains", "value": "weeks", "weight": 0},
        {"type": "latency_ms", "max": 10, "weight": 0},
    ]}))
    .await;
    assert_eq!(r.outcome, Outcome::Pass, "{r:?}");
    assert_eq!(r.score, Some(1.0));
    assert_eq!(r.grades.len(), 3);
    assert_eq!(r.grades[2].outcome, Outcome::Error);
    // A counted error makes the case an error, whatever the threshold.
    let r = grade_case(json!({"threshold": 0.1, "assert": [
        {"type": "contains", "value": "5 days"},
        {"type": "cost_usd", "max": 1},
    ]}))
    .await;
    assert_eq!(r.outcome, Outcome::Error);
    assert_eq!(r.score, None);
    assert_eq!(r.run().verdict, Verdict::Error);
    // No assertions: the call answered.
    let r = grade_case(json!({})).await;
    assert_eq!((r.outcome, r.score), (Outcome::Pass, None));
    assert!(
        refused(json!({"type": "contains", "value": "x", "weight": -1}))
            .contains("assert[0].weight: must be 0 or more")
    );
}

#[test]
fn grades_serialize_as_stored() {
    let g = Grade {
        assertion: "judge".into(),
        outcome: Outcome::Error,
        score: None,
        reason: "the judge's answer is not JSON".into(),
        weight: 1.0,
        metric: None,
        template_sha256: Some("ab".into()),
    };
    assert_eq!(
        serde_json::to_value(&g).unwrap(),
        json!({"assertion": "judge", "outcome": "error", "score": null,
               "reason": "the judge's answer is not JSON", "weight": 1.0, "template_sha256": "ab"})
    );
}
