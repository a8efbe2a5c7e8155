use super::*;
use seam_wire::Usage;
use serde_json::json;

fn view(text: &str) -> ChunkView<'_> {
    ChunkView::parse(text).unwrap()
}

fn contents(v: &ChunkView<'_>) -> Vec<String> {
    let mut out = Vec::new();
    v.for_each_content(|t| out.push(t.to_string()));
    out
}

#[test]
fn a_content_chunk_is_read_without_building_it() {
    let raw = r#"{"id":"c1","object":"chat.completion.chunk","model":"m-1","system_fingerprint":"fp",
        "choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}"#;
    let v = view(raw);
    assert_eq!(v.model.as_str(), Some("m-1"));
    assert_eq!(v.system_fingerprint.as_str(), Some("fp"));
    assert!(matches!(v.model, Text::Str(Cow::Borrowed(_))));
    assert_eq!(contents(&v), ["Hello"]);
    assert_eq!(v.choices[0].finish_reason, Text::Null);
    assert!(!v.usage_field && !v.has_usage() && v.error.is_none());
    let chunk = Chunk::from_raw(Bytes::from(raw));
    assert_eq!(*chunk.view(), v);
    assert!(chunk.value.get().is_none(), "the view built the document");
    assert_eq!(chunk.served().model.as_deref(), Some("m-1"));
}

#[test]
fn escaped_strings_are_unescaped() {
    let v = view(
        r#"{"model":"a\"b","choices":[{"delta":{"content":"line\nnext \u00e9 \ud83d\ude00"}}]}"#,
    );
    assert_eq!(v.model.as_str(), Some("a\"b"));
    assert_eq!(contents(&v), ["line\nnext é 😀"]);
    assert_eq!(v.content_chars(), 13);
}

#[test]
fn null_and_odd_fields_read_as_what_value_lookups_said() {
    let v = view(
        r#"{"model":null,"system_fingerprint":7,"usage":null,"choices":[
            {"delta":{"content":null},"text":"read too","finish_reason":"stop"},
            {"delta":["content"],"text":5},
            3,
            {"delta":{"tool_calls":null}}]}"#,
    );
    assert_eq!(v.model, Text::Null);
    assert_eq!(v.system_fingerprint, Text::Other);
    assert!(
        v.usage_field,
        "a null usage is still a field a client may not get"
    );
    assert_eq!(v.usage, UsageReport::Missing);
    assert_eq!(v.choices.len(), 4);
    assert_eq!(v.choices[0].delta.content, Text::Null);
    assert!(v.choices[0].finish_reason.is_set());
    assert_eq!(v.choices[1].delta, DeltaView::default());
    assert_eq!(v.choices[1].text, Text::Other);
    assert_eq!(v.choices[2], ChoiceView::default());
    assert_eq!(v.choices[3].delta.tool_calls, Some(Vec::new()));
    assert_eq!(contents(&v), ["read too"]);
    let v = view(r#"{"choices":{"0":{"delta":{"content":"x"}}}}"#);
    assert!(v.choices.is_empty());
    assert_eq!(view("[1, 2]"), ChunkView::default());
    assert_eq!(view("\"text\""), ChunkView::default());
}

#[test]
fn a_usage_only_chunk_reports_its_usage() {
    let v = view(
        r#"{"id":"c","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":11,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":0}}}"#,
    );
    assert_eq!(
        v.usage,
        UsageReport::Reported(Usage {
            input_tokens: 14,
            output_tokens: 11
        })
    );
    assert!(v.usage_field && v.has_usage() && v.choices.is_empty());
    assert_eq!(view(r#"{"usage":"lots"}"#).usage, UsageReport::Malformed);
}

#[test]
fn tool_call_arguments_are_content() {
    let v = view(
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[
            {"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"ci"}},
            {"index":1,"function":{"arguments":"ty\":1}"}},
            {"index":2,"function":"odd"}]}}]}"#,
    );
    let calls = v.choices[0].delta.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 3);
    assert_eq!(contents(&v), ["{\"ci", "ty\":1}"]);
    assert_eq!(calls[2].arguments, Text::Absent);
}

#[test]
fn an_error_event_is_found_whatever_its_shape() {
    let v = view(r#"{"error":{"message":"overloaded","type":"server_error"}}"#);
    assert_eq!(v.error.unwrap().message.as_str(), Some("overloaded"));
    let v = view(r#"{"error":null}"#);
    assert_eq!(v.error, Some(ErrorView::default()));
    let v = view(r#"{"error":"boom"}"#);
    assert_eq!(v.error.unwrap().message, Text::Absent);
}

#[test]
fn what_a_value_refuses_the_view_refuses() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    for bad in [
        "",
        "{",
        "not json",
        r#"{"a":1} x"#,
        r#"{"a":1e400}"#,
        r#"{"a":"\x"}"#,
        deep.as_str(),
    ] {
        assert!(ChunkView::parse(bad).is_err(), "{bad}");
        assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_view_of_a_built_document_reads_the_same() {
    let raw = r#"{"model":"m","choices":[{"delta":{"content":"a\tb","tool_calls":[{"function":{"arguments":"{}"}}]},"finish_reason":null}],"usage":null}"#;
    let doc: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(ChunkView::of(&doc), view(raw));
    let chunk = Chunk::from_value(doc.clone());
    assert_eq!(*chunk.view(), view(raw));
    assert_eq!(chunk.raw(), None);
    assert_eq!(chunk.into_value(), doc);
}

#[test]
fn a_raw_chunk_builds_its_document_on_demand_and_forgets_its_bytes_when_changed() {
    let raw = r#"{"model":"m","choices":[]}"#;
    let mut chunk = Chunk::from_raw(Bytes::from(raw));
    // Read (and kept) before the change: the change must not leave the old reading behind.
    assert_eq!(chunk.served().model.as_deref(), Some("m"));
    assert_eq!(chunk.value(), &json!({"model": "m", "choices": []}));
    chunk.value_mut()["model"] = json!("other");
    assert_eq!(chunk.raw(), None);
    assert_eq!(chunk.served().model.as_deref(), Some("other"));
    let (raw, value) = Chunk::from_raw(Bytes::from(raw)).into_parts();
    assert_eq!(
        raw.as_deref(),
        Some(r#"{"model":"m","choices":[]}"#.as_bytes())
    );
    assert_eq!(value["model"], "m");
}

#[test]
fn a_chunk_keeps_the_view_it_was_checked_with() {
    let raw = r#"{"model":"m","choices":[{"delta":{"content":"hi"}}],"usage":{"prompt_tokens":2,"completion_tokens":1}}"#;
    let owned = view(raw).into_owned();
    assert_eq!(owned, view(raw));
    let chunk = Chunk::from_raw_read(Bytes::from(raw), owned);
    assert_eq!(*chunk.view(), view(raw));
    assert_eq!(chunk.view().content_chars(), 2);
    assert_eq!(chunk.served().model.as_deref(), Some("m"));
    assert_eq!(chunk.raw().map(|b| b.as_ref()), Some(raw.as_bytes()));
}

#[test]
fn a_responses_event_is_served_by_the_response_it_carries() {
    let raw =
        r#"{"type":"response.created","response":{"model":"gpt-x","system_fingerprint":"f"}}"#;
    let served = Chunk::from_raw(Bytes::from(raw)).served();
    assert_eq!(served.model.as_deref(), Some("gpt-x"));
    assert_eq!(served.fingerprint.as_deref(), Some("f"));
}

/// The view as serde_json alone reads it: the reference for the fast path.
fn by_serde_json(text: &str) -> Result<ChunkView<'_>, String> {
    serde_json::from_str::<Obj<ChunkView<'_>>>(text)
        .map(|o| o.0)
        .map_err(|e| e.to_string())
}

/// Chunks of every shape the view reads, and values of the wrong shape where it reads them.
fn chunk_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let text = prop::sample::select(vec![
        r#""hi""#,
        r#""""#,
        r#""a\nb \"q\" \u00e9""#,
        "null",
        "1",
        "-2.5e3",
        "true",
        "[]",
        r#"{"x":1}"#,
        r#""\ud83d\ude00""#,
    ]);
    let usage = prop::sample::select(vec![
        "null",
        r#"{"prompt_tokens":14,"completion_tokens":11}"#,
        r#"{"prompt_tokens":14}"#,
        r#"{"prompt_tokens":-1,"completion_tokens":2}"#,
        r#"{"prompt_tokens":1.5}"#,
        r#""x""#,
        r#"{"prompt_tokens":3,"completion_tokens":4,"details":{"cached":[1,2]}}"#,
        "[1]",
    ]);
    (text.clone(), text.clone(), text, usage, 0..8u8).prop_map(|(content, model, args, usage, fields)| {
        let mut parts = vec![format!(r#""model":{model}"#), r#""id":"c","created":1767225600"#.to_string()];
        let delta = if fields & 1 == 1 {
            format!(r#"{{"content":{content},"tool_calls":[{{"index":0,"function":{{"arguments":{args}}}}}]}}"#)
        } else {
            format!(r#"{{"role":"assistant","content":{content}}}"#)
        };
        parts.push(format!(r#""choices":[{{"index":0,"delta":{delta},"text":{content},"finish_reason":{model}}}]"#));
        if fields & 2 == 2 {
            parts.push(format!(r#""usage":{usage}"#));
        }
        if fields & 4 == 4 {
            parts.push(format!(r#""error":{{"message":{content}}},"response":{usage}"#));
        }
        format!("{{{}}}", parts.join(","))
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    #[test]
    fn the_fast_path_reads_every_chunk_as_serde_json_does(
        text in chunk_text(),
        at in proptest::prelude::any::<proptest::sample::Index>(),
        byte in proptest::sample::select(b"{}[],:\" \\0-e.n\x01x".to_vec()),
        change in proptest::prelude::any::<bool>(),
    ) {
        let mut text = text.into_bytes();
        if change {
            let i = at.index(text.len());
            text[i] = byte;
        }
        if let Ok(text) = String::from_utf8(text) {
            let fast = ChunkView::parse(&text).map_err(|e| e.to_string());
            proptest::prop_assert_eq!(fast, by_serde_json(&text), "{}", text);
        }
    }
}
