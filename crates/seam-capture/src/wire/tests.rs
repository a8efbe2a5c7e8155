//! Reading the common shapes without a `Value` gives what reading them as one gives.

use super::typed;
use crate::content::{Answer, Content};
use proptest::prelude::*;
use serde_json::{Value, json};

fn by_value_request(bytes: &[u8]) -> Option<Content> {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .map(|v| Content::from_request(&v))
}

fn by_value_response(bytes: &[u8]) -> Option<Answer> {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .map(|v| Answer::from_response(&v))
}

/// Strings, with escapes and non-ASCII, and the other JSON types a field may wrongly have.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => "\\PC{0,12}".prop_map(Value::from),
        1 => Just(Value::Null),
        1 => any::<i32>().prop_map(Value::from),
        1 => Just(json!(true)),
        1 => Just(json!([{"type": "text", "text": "a\nb"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}])),
        1 => Just(json!({"x": 1})),
        1 => Just(json!(["role", "user"])),
    ]
}

fn object(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    proptest::collection::vec((proptest::sample::select(keys), scalar()), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

fn request() -> impl Strategy<Value = Value> {
    let message = prop_oneof![
        6 => object(&["role", "name", "content", "tool_calls", "tool_call_id", "extra"]),
        1 => scalar(),
    ];
    (
        proptest::collection::vec(message, 0..4),
        object(&[
            "model",
            "tools",
            "seam_variables",
            "temperature",
            "messages",
        ]),
        any::<bool>(),
    )
        .prop_map(|(messages, mut top, as_array)| {
            if let Value::Object(o) = &mut top {
                o.insert("messages".into(), Value::Array(messages));
            }
            if as_array { json!([top]) } else { top }
        })
}

fn response() -> impl Strategy<Value = Value> {
    let message = object(&["role", "content", "refusal", "tool_calls", "extra"]);
    let choice = (message, scalar(), any::<bool>()).prop_map(|(m, f, null)| {
        json!({"index": 0, "message": if null { Value::Null } else { m }, "finish_reason": f})
    });
    (proptest::collection::vec(choice, 0..3), scalar()).prop_map(
        |(choices, id)| json!({"id": id, "choices": choices, "usage": {"prompt_tokens": 3}}),
    )
}

proptest! {
    #[test]
    fn a_request_reads_the_same_without_a_value(body in request()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        prop_assert_eq!(Some(Content::from_request_bytes(&bytes, 1 << 20)), by_value_request(&bytes));
    }

    #[test]
    fn an_answer_reads_the_same_without_a_value(body in response()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        prop_assert_eq!(Answer::from_response_bytes(&bytes), by_value_response(&bytes));
    }
}

#[test]
fn the_common_shapes_are_read_without_a_value() {
    let req = br#"{"model":"m","messages":[{"role":"system","content":"Be \"brief\".\n"},{"role":"user","content":"hi \u00e9","name":"ana"}],"stream":false}"#;
    let typed = typed::request(req).expect("the common request shape");
    assert_eq!(Some(typed), by_value_request(req));
    let resp = br#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"ok","refusal":null},"finish_reason":"stop"}]}"#;
    let typed = typed::response(resp).expect("the common answer shape");
    assert_eq!(Some(typed), by_value_response(resp));
}

#[test]
fn other_shapes_go_the_value_way() {
    for body in [
        // A key twice: the last one counts there.
        &br#"{"messages":[{"role":"user","content":"a","content":"b"}]}"#[..],
        br#"{"messages":[["user","hi"]]}"#,
        br#"{"messages":[],"seam_variables":null}"#,
        br#"[{"messages":[]}]"#,
    ] {
        assert!(
            typed::request(body).is_none(),
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(
            Some(Content::from_request_bytes(body, 1 << 20)),
            by_value_request(body)
        );
    }
    let not_json = b"{\"messages\": [\xff]}";
    let c = Content::from_request_bytes(not_json, 1 << 20);
    assert!(c.unparsed.is_some() && c.messages.is_empty());
}
