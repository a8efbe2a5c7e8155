//! What the grader tests share: a case around an assertion, graded without a backend.

#![allow(dead_code)]

use seam_evals::{Case, Dataset, Grade, Grader, NoBackend, Outcome, Output};
use serde_json::{Value, json};
use std::path::Path;

pub fn case_with(extra: Value) -> Case {
    let mut c = json!({"id": "c", "variables": {"customer": "Ann"}});
    if let (Some(o), Value::Object(e)) = (c.as_object_mut(), extra) {
        o.extend(e);
    }
    let line = c.to_string();
    Dataset::parse_bytes(line.as_bytes(), Path::new("t.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"))
        .cases
        .remove(0)
}

/// The problem reading `assertion` gives.
pub fn refused(assertion: Value) -> String {
    let line = json!({"id": "c", "variables": {}, "assert": [assertion]}).to_string();
    Dataset::parse_bytes(line.as_bytes(), Path::new("t.jsonl"))
        .expect_err("should be refused")
        .to_string()
}

pub async fn grade_with(assertion: Value, expected: Option<Value>, out: &Output) -> Grade {
    let mut extra = json!({"assert": [assertion]});
    if let Some(e) = expected {
        extra["expected"] = e;
    }
    let c = case_with(extra);
    Grader::new(&NoBackend)
        .grade(&c.assertions[0], &c, out)
        .await
}

pub async fn grade(assertion: Value, out: &Output) -> Grade {
    grade_with(assertion, None, out).await
}

#[track_caller]
pub fn is(g: &Grade, outcome: Outcome, reason: &str) {
    assert_eq!(g.outcome, outcome, "{g:?}");
    assert!(
        g.reason.contains(reason),
        "reason {:?} lacks {reason:?}",
        g.reason
    );
    match outcome {
        Outcome::Error => assert_eq!(g.score, None),
        Outcome::Pass => assert_eq!(g.score, Some(1.0), "{g:?}"),
        Outcome::Fail => assert_eq!(g.score, Some(0.0), "{g:?}"),
    }
}

pub fn text(t: &str) -> Output {
    Output::text(t)
}
