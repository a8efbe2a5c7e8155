//! The deterministic graders: each passes, fails, and errors (or is refused when read) where
//! it should, and `not-` inverts.

mod common;

use common::{grade, grade_with, is, refused, text};
use seam_evals::{Outcome, Output, ToolCall};
use serde_json::json;

#[tokio::test]
async fn equals_compares_text_exactly_or_json_by_value() {
    let a = json!({"type": "equals", "value": "Paris"});
    is(
        &grade(a.clone(), &text("Paris")).await,
        Outcome::Pass,
        "equals",
    );
    is(
        &grade(a.clone(), &text("Paris\n")).await,
        Outcome::Fail,
        "at character 5",
    );
    is(
        &grade(
            json!({"type": "not-equals", "value": "Paris"}),
            &text("Lyon"),
        )
        .await,
        Outcome::Pass,
        "differs",
    );
    // Without a value: the case's expected text (a string, or `expected.text`).
    let e = Some(json!({"text": "A cat.", "review": "pending"}));
    is(
        &grade_with(json!({"type": "equals"}), e, &text("A cat.")).await,
        Outcome::Pass,
        "equals",
    );
    let j = json!({"type": "equals", "value": {"a": 1, "b": [true]}});
    is(
        &grade(j.clone(), &text(" {\"b\": [true], \"a\": 1.0} ")).await,
        Outcome::Pass,
        "JSON equal",
    );
    is(
        &grade(j.clone(), &text("{\"a\": 2, \"b\": [true]}")).await,
        Outcome::Fail,
        "differs",
    );
    is(&grade(j, &text("nope")).await, Outcome::Fail, "not JSON");
    assert!(
        refused(json!({"type": "equals"}))
            .contains("t.jsonl:1: assert[0].value: missing, and the case's `expected` has no text")
    );
    assert!(
        refused(json!({"type": "equals", "value": "{{ expected }}"}))
            .contains("assert[0].value: looks like a template")
    );
}

#[tokio::test]
async fn contains_and_its_any_all_and_case_free_forms() {
    let out = text("Refunds take 5 business days.");
    is(
        &grade(json!({"type": "contains", "value": "5 business"}), &out).await,
        Outcome::Pass,
        "contains `5 business`",
    );
    is(
        &grade(json!({"type": "contains", "value": "refunds"}), &out).await,
        Outcome::Fail,
        "does not contain `refunds`",
    );
    is(
        &grade(json!({"type": "icontains", "value": "REFUNDS"}), &out).await,
        Outcome::Pass,
        "contains",
    );
    is(
        &grade(json!({"type": "not-icontains", "value": "refunds"}), &out).await,
        Outcome::Fail,
        "contains",
    );
    let any = json!({"type": "contains-any", "value": ["weeks", "days"]});
    is(&grade(any, &out).await, Outcome::Pass, "`days`");
    let all = json!({"type": "contains-all", "value": ["Refunds", "weeks", "months"]});
    is(
        &grade(all, &out).await,
        Outcome::Fail,
        "does not contain `weeks`, `months`",
    );
    // promptfoo's comma-separated string for the list forms.
    is(
        &grade(
            json!({"type": "icontains-all", "value": "refunds, DAYS"}),
            &out,
        )
        .await,
        Outcome::Pass,
        "contains",
    );
    is(
        &grade(
            json!({"type": "contains-any", "value": "hours,weeks"}),
            &out,
        )
        .await,
        Outcome::Fail,
        "none of",
    );
    // No text (tool calls only) contains nothing.
    is(
        &grade(
            json!({"type": "contains", "value": "x"}),
            &Output::default(),
        )
        .await,
        Outcome::Fail,
        "does not contain",
    );
    assert!(
        refused(json!({"type": "contains", "value": ["a", "b"]}))
            .contains("assert[0].value: a list needs `contains-any` or `contains-all`")
    );
    assert!(
        refused(json!({"type": "contains", "value": ""}))
            .contains("assert[0].value: must not be empty")
    );
    assert!(refused(json!({"type": "contains"})).contains("assert[0].value: missing"));
    assert!(
        refused(json!({"type": "contains", "value": "x", "wieght": 2})).contains(
            "assert[0].wieght: unknown key for contains (accepted: type, weight, metric, value)"
        )
    );
}

#[tokio::test]
async fn regex_must_and_must_not_match() {
    let r = json!({"type": "regex", "value": r"(?i)order #\d{4}"});
    is(
        &grade(r.clone(), &text("Your ORDER #1234 ships.")).await,
        Outcome::Pass,
        "at character 5",
    );
    is(
        &grade(r, &text("no order")).await,
        Outcome::Fail,
        "does not match",
    );
    let not = json!({"type": "not-regex", "value": r"\bsk-[A-Za-z0-9]{20,}"});
    is(
        &grade(not.clone(), &text("no key here")).await,
        Outcome::Pass,
        "does not match",
    );
    is(
        &grade(not, &text("sk-abcdefghijklmnopqrstuvwxyz")).await,
        Outcome::Fail,
        "matches",
    );
    assert!(
        refused(json!({"type": "regex", "value": "a{2"}))
            .contains("t.jsonl:1: assert[0].value: the regex does not compile")
    );
    assert!(
        refused(json!({"type": "regex", "value": r"\w{1000}{1000}"}))
            .contains("the regex does not compile")
    );
}

#[tokio::test]
async fn is_json_with_and_without_a_schema() {
    is(
        &grade(json!({"type": "is-json"}), &text(" {\"a\": 1}\n")).await,
        Outcome::Pass,
        "is JSON",
    );
    is(
        &grade(json!({"type": "json"}), &text("```json\n{}\n```")).await,
        Outcome::Fail,
        "not JSON",
    );
    let schema = json!({"type": "is-json", "value": {
        "type": "object", "required": ["city", "days"],
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}}}});
    is(
        &grade(schema.clone(), &text(r#"{"city": "Paris", "days": 3}"#)).await,
        Outcome::Pass,
        "valid against the schema",
    );
    let g = grade(schema.clone(), &text(r#"{"city": 7, "days": 0}"#)).await;
    is(&g, Outcome::Fail, "not valid against the schema");
    assert!(
        g.reason.contains("at /city") && g.reason.contains("at /days"),
        "{}",
        g.reason
    );
    is(&grade(schema, &text("[1")).await, Outcome::Fail, "not JSON");
    assert!(
        refused(json!({"type": "is-json", "value": {"type": 12}}))
            .contains("assert[0].value: the JSON Schema does not compile")
    );
    assert!(
        refused(json!({"type": "is-json", "value": {"$ref": "https://example.com/s.json"}}))
            .contains("the JSON Schema does not compile")
    );
    assert!(
        refused(json!({"type": "is-json", "value": "object"}))
            .contains("assert[0].value: must be a JSON Schema")
    );
}

fn calls(calls: &[(&str, &str)]) -> Output {
    Output {
        tool_calls: calls
            .iter()
            .map(|(n, a)| ToolCall {
                id: None,
                name: n.to_string(),
                arguments: a.to_string(),
            })
            .collect(),
        ..Output::default()
    }
}

#[tokio::test]
async fn tool_call_none_any_named_and_with_arguments() {
    let weather = calls(&[
        ("search", "{}"),
        (
            "get_weather",
            r#"{"city": "Paris", "units": "c", "when": {"day": 1, "hour": 9}}"#,
        ),
    ]);
    let none = json!({"type": "tool_call", "value": "none"});
    is(
        &grade(none.clone(), &text("hi")).await,
        Outcome::Pass,
        "calls no tool",
    );
    is(
        &grade(none, &weather).await,
        Outcome::Fail,
        "calls `search`, `get_weather`",
    );
    is(
        &grade(json!({"type": "tool-call", "value": "any"}), &text("hi")).await,
        Outcome::Fail,
        "calls no tool",
    );
    is(
        &grade(
            json!({"type": "tool_call", "value": "get_weather"}),
            &weather,
        )
        .await,
        Outcome::Pass,
        "calls `get_weather`",
    );
    is(
        &grade(json!({"type": "tool_call", "value": "book"}), &weather).await,
        Outcome::Fail,
        "not `book`",
    );
    let subset = json!({"type": "tool_call", "value": {"name": "get_weather", "arguments": {"city": "Paris", "when": {"day": 1.0}}}});
    is(
        &grade(subset, &weather).await,
        Outcome::Pass,
        "with the arguments",
    );
    let wrong = json!({"type": "tool_call", "value": {"name": "get_weather", "arguments": {"city": "Lyon"}}});
    is(
        &grade(wrong.clone(), &weather).await,
        Outcome::Fail,
        "never with the arguments",
    );
    is(
        &grade(wrong, &calls(&[("get_weather", "{\"city\": \"Ly")])).await,
        Outcome::Fail,
        "1 with arguments that are not JSON",
    );
    assert!(refused(json!({"type": "tool_call"})).contains("assert[0].value: missing"));
    assert!(
        refused(json!({"type": "tool_call", "value": {"name": "x", "args": {}}}))
            .contains("assert[0].value.args: unknown key")
    );
    assert!(
        refused(json!({"type": "tool_call", "value": {"name": "x", "arguments": "{}"}}))
            .contains("assert[0].value.arguments: must be an object")
    );
}

#[tokio::test]
async fn refusal_from_the_provider_or_an_opening_that_declines() {
    let r = json!({"type": "refusal"});
    is(
        &grade(
            r.clone(),
            &text("I’m sorry, but I can’t help with that request."),
        )
        .await,
        Outcome::Pass,
        "opens with a refusal",
    );
    let flagged = Output {
        refusal: Some("I can't.".into()),
        ..Output::default()
    };
    is(
        &grade(r.clone(), &flagged).await,
        Outcome::Pass,
        "refusal field",
    );
    let filtered = Output {
        finish_reason: Some("content_filter".into()),
        ..Output::default()
    };
    is(
        &grade(r.clone(), &filtered).await,
        Outcome::Pass,
        "content filter",
    );
    is(
        &grade(
            r.clone(),
            &text("I'm sorry to hear that. Refunds take 5 days."),
        )
        .await,
        Outcome::Fail,
        "does not refuse",
    );
    let late = format!(
        "{} I cannot help with that part.",
        "Here is the full answer. ".repeat(10)
    );
    is(
        &grade(r, &text(&late)).await,
        Outcome::Fail,
        "does not refuse",
    );
    is(
        &grade(json!({"type": "not_refusal"}), &text("Sure: 42.")).await,
        Outcome::Pass,
        "does not refuse",
    );
    is(
        &grade(json!({"type": "not-is-refusal"}), &flagged).await,
        Outcome::Fail,
        "refusal field",
    );
    assert!(
        refused(json!({"type": "refusal", "value": "x"}))
            .contains("assert[0].value: unknown key for refusal")
    );
}

#[tokio::test]
async fn number_extracts_and_compares_within_a_tolerance() {
    let n = json!({"type": "number", "value": 1234.5, "tolerance": 0.5});
    is(
        &grade(
            n.clone(),
            &text("Between 2020 and 2024 it was $1,234.9 in total."),
        )
        .await,
        Outcome::Pass,
        "within the tolerance",
    );
    is(
        &grade(n.clone(), &text("It was 1236")).await,
        Outcome::Fail,
        "beyond the tolerance",
    );
    is(
        &grade(n, &text("no idea")).await,
        Outcome::Fail,
        "holds no number",
    );
    let first = json!({"type": "number", "value": -3, "extract": "first"});
    is(
        &grade(first, &text("-3 then 4-5")).await,
        Outcome::Pass,
        "the answer's number -3",
    );
    let only = json!({"type": "number", "value": 4, "extract": "only"});
    is(
        &grade(only.clone(), &text("it is 4")).await,
        Outcome::Pass,
        "within",
    );
    is(
        &grade(only, &text("3-4")).await,
        Outcome::Fail,
        "holds 2 numbers",
    );
    // Without a value: the number in the case's expected answer.
    let e = Some(json!("The answer is 42."));
    is(
        &grade_with(json!({"type": "number"}), e, &text("So: 42")).await,
        Outcome::Pass,
        "0 from 42",
    );
    assert!(
        refused(json!({"type": "number"}))
            .contains("assert[0].value: missing, and the case's `expected` holds no number")
    );
    assert!(
        refused(json!({"type": "number", "value": "ten"}))
            .contains("assert[0].value: `ten` is not a number")
    );
    assert!(
        refused(json!({"type": "number", "value": 1, "extract": "middle"}))
            .contains("assert[0].extract: `middle`")
    );
    assert!(
        refused(json!({"type": "number", "value": 1, "tolerance": -1}))
            .contains("assert[0].tolerance: must be 0 or more")
    );
}

#[tokio::test]
async fn length_latency_and_cost_bounds() {
    let len = json!({"type": "length", "min": 2, "max": 5});
    is(
        &grade(len.clone(), &text("héllo")).await,
        Outcome::Pass,
        "5 characters is within",
    );
    is(
        &grade(len.clone(), &text("h")).await,
        Outcome::Fail,
        "below 2",
    );
    is(&grade(len, &text("hello!")).await, Outcome::Fail, "above 5");
    let timed = Output {
        latency_ms: Some(850.0),
        cost_usd: Some(0.002),
        ..Output::text("x")
    };
    is(
        &grade(json!({"type": "latency_ms", "max": 1000}), &timed).await,
        Outcome::Pass,
        "850 ms is within",
    );
    is(
        &grade(json!({"type": "latency", "threshold": 500}), &timed).await,
        Outcome::Fail,
        "above 500 ms",
    );
    is(
        &grade(json!({"type": "cost_usd", "max": 0.001}), &timed).await,
        Outcome::Fail,
        "above 0.001 USD",
    );
    is(
        &grade(json!({"type": "cost", "threshold": 0.01}), &timed).await,
        Outcome::Pass,
        "within",
    );
    is(
        &grade(json!({"type": "latency-ms", "max": 1000}), &text("x")).await,
        Outcome::Error,
        "latency was not measured",
    );
    is(
        &grade(json!({"type": "cost-usd", "max": 1}), &text("x")).await,
        Outcome::Error,
        "cost is unknown",
    );
    assert!(
        refused(json!({"type": "length"}))
            .contains("assert[0].max: missing: give `min`, `max` or both")
    );
    assert!(
        refused(json!({"type": "length", "min": 5, "max": 2}))
            .contains("assert[0].min: 5 is above max 2")
    );
    assert!(
        refused(json!({"type": "length", "min": 1.5}))
            .contains("assert[0].min: must be a whole number")
    );
    assert!(refused(json!({"type": "latency"})).contains("assert[0].threshold: missing"));
}
