//! Content from the wire, sealed (redacted, bounded) and stored.

use crate::{Answer, Content, Kind, Part, Redactor, StreamAnswer};
use proptest::prelude::*;
use seam_config::{Redact, RedactPack};
use serde_json::{Value, json};

fn redactor() -> Redactor {
    Redactor::new(&[Redact::Pack(RedactPack::Email)]).unwrap()
}

fn request() -> Value {
    json!({
        "model": "prompt:support@production",
        "seam_variables": {"customer": "Ada", "contact": "ada@example.com"},
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this image? My key is sk-abcdefghijklmnopqrstuvwxyz"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                {"type": "file", "file": {"file_id": "file-123"}},
                {"type": "video", "video": {"x": [1, 2]}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"ada\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "found"}
        ],
        "tools": [{"type": "function", "function": {
            "name": "lookup", "description": "Finds a customer",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}
        }}]
    })
}

#[test]
fn a_request_keeps_messages_tools_and_variables_and_describes_non_text_parts() {
    let c = Content::from_request(&request());
    assert_eq!(c.messages.len(), 4);
    assert_eq!(
        c.messages[0].parts,
        vec![Part::Text {
            text: "Be brief.".into()
        }]
    );
    let parts = &c.messages[1].parts;
    assert_eq!(parts.len(), 5);
    let Part::Blob(image) = &parts[1] else {
        panic!("{parts:?}")
    };
    let url = "data:image/png;base64,iVBORw0KGgo=";
    assert_eq!(
        (image.kind.as_str(), image.media.as_deref(), image.bytes),
        ("image_url", Some("image/png"), url.len() as u64)
    );
    assert_eq!(
        image.sha256,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(url.as_bytes()))
    );
    let Part::Blob(audio) = &parts[2] else {
        panic!("{parts:?}")
    };
    assert_eq!((audio.media.as_deref(), audio.bytes), (Some("wav"), 8));
    let Part::Blob(file) = &parts[3] else {
        panic!("{parts:?}")
    };
    assert_eq!((file.kind.as_str(), file.bytes), ("file", 8));
    let Part::Blob(video) = &parts[4] else {
        panic!("{parts:?}")
    };
    assert_eq!(video.kind, "video");
    assert!(!serde_json::to_string(&c).unwrap().contains("iVBORw0KGgo"));
    let call = &c.messages[2].tool_calls[0];
    assert_eq!(
        (call.id.as_deref(), call.name.as_str()),
        (Some("call_1"), "lookup")
    );
    assert_eq!(c.messages[3].tool_call_id.as_deref(), Some("call_1"));
    assert_eq!(c.tools[0].name, "lookup");
    assert_eq!(
        c.tools[0].parameters.as_deref(),
        Some(r#"{"type":"object","properties":{"q":{"type":"string"}}}"#)
    );
    assert_eq!(
        c.variables.as_deref(),
        Some(r#"{"customer":"Ada","contact":"ada@example.com"}"#)
    );
}

#[test]
fn sealing_redacts_every_text_then_bounds_it_on_a_char_boundary() {
    let mut c = Content::from_request(&request());
    c.release = Some("rel_42".into());
    c.answer = Some(Answer::from_response(&json!({
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Write to bob@example.com"}}]
    })));
    c.seal(&redactor(), 1 << 16);
    assert!(!c.truncated);
    let text = serde_json::to_string(&c).unwrap();
    assert!(
        !text.contains("sk-abc") && !text.contains("@example.com"),
        "{text}"
    );
    assert_eq!(c.redactions.get(Kind::Key), 1);
    assert_eq!(c.redactions.get(Kind::Email), 2);
    assert_eq!(
        c.answer.as_ref().and_then(|a| a.text.as_deref()),
        Some("Write to [email]")
    );
    let before = c.clone();
    c.seal(&redactor(), 1 << 16);
    assert_eq!(c, before, "sealing twice is sealing once");

    let mut big = Content {
        messages: vec![crate::Message {
            role: "user".into(),
            parts: vec![Part::Text {
                text: "é".repeat(2000),
            }],
            ..Default::default()
        }],
        answer: Some(Answer {
            text: Some("answer".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    big.seal(&redactor(), 1001);
    assert!(big.truncated);
    assert_eq!(
        big.answer.as_ref().and_then(|a| a.text.as_deref()),
        Some("answer")
    );
    let Part::Text { text } = &big.messages[0].parts[0] else {
        panic!()
    };
    assert_eq!(text.len(), 994, "995 bytes left, cut before the last é");
}

#[test]
fn an_answer_and_an_assembled_stream_agree() {
    let full = Answer::from_response(
        &json!({"choices": [{"index": 0, "finish_reason": "tool_calls",
        "message": {"content": "Let me look.", "tool_calls": [
            {"id": "c1", "function": {"name": "lookup", "arguments": "{\"q\":1}"}}]}}]}),
    );
    let mut s = StreamAnswer::new(1 << 16);
    for chunk in [
        json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Let "}}]}),
        json!({"choices": [{"index": 0, "delta": {"content": "me look."}}]}),
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": "c1", "function": {"name": "lookup", "arguments": "{\"q\""}}]}}]}),
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": ":1}"}}]}}]}),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        json!({"choices": [], "usage": {"total_tokens": 3}}),
        json!("not a chunk"),
    ] {
        s.push(&chunk);
    }
    assert_eq!(s.finish(false), (full, false));

    let mut s = StreamAnswer::new(5);
    s.push(&json!({"choices": [{"delta": {"content": "héllo world"}}]}));
    let (partial, cut) = s.finish(true);
    assert!(cut && partial.client_closed);
    assert_eq!(partial.text.as_deref(), Some("héll"));
}

#[test]
fn stored_content_round_trips_compressed_and_bad_bytes_are_errors() {
    let mut c = Content::from_request(&request());
    c.answer = Some(Answer {
        text: Some("ok".into()),
        ..Default::default()
    });
    c.seal(&redactor(), 1 << 16);
    let bytes = c.to_bytes().unwrap();
    assert_eq!(bytes[0], 2, "a short content is stored as JSON");
    assert_eq!(Content::from_bytes(&bytes).unwrap(), c);
    let long = Content {
        unparsed: Some("the same words again ".repeat(2000)),
        ..Default::default()
    };
    let (stored, size) = long.encode().unwrap();
    assert_eq!(stored[0], 1, "a long one compressed");
    assert!(
        size > 42_000 && stored.len() < 42_000 / 20,
        "zstd compresses"
    );
    assert_eq!(Content::from_bytes(&stored).unwrap(), long);
    assert!(Content::from_bytes(&[2, b'{']).is_err());
    assert!(Content::from_bytes(&[]).is_err());
    assert!(Content::from_bytes(&[9, 1, 2]).is_err());
    assert!(Content::from_bytes(&[1, 1, 2, 3]).is_err());
}

#[test]
fn bodies_that_are_not_json_are_kept_as_text_and_bounded() {
    let c = Content::from_request_bytes(b"\xff\xfe not json", 1024);
    assert_eq!(c.unparsed.as_deref(), Some("\u{fffd}\u{fffd} not json"));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let c = Content::from_request_bytes(deep.as_bytes(), 1024);
    assert!(c.truncated && c.unparsed.is_some_and(|u| u.len() == 1024));
    // A value built in code deeper than serde_json would parse is left out, not serialized.
    let mut v = json!(1);
    for _ in 0..1_000 {
        v = json!([v]);
    }
    let c = Content::from_request(&json!({
        "seam_variables": v,
        "messages": [{"role": "user", "content": [{"type": "x", "x": v}]}],
        "tools": [{"function": {"name": "f", "parameters": v}}]
    }));
    assert_eq!(
        (c.variables, c.tools[0].parameters.as_deref()),
        (None, None)
    );
    let Part::Blob(b) = &c.messages[0].parts[0] else {
        panic!()
    };
    assert_eq!(b.bytes, 0);
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("role".to_string()),
                    Just("content".to_string()),
                    Just("type".to_string()),
                    Just("text".to_string()),
                    Just("messages".to_string()),
                    Just("tools".to_string()),
                    Just("function".to_string()),
                    Just("tool_calls".to_string()),
                    Just("image_url".to_string()),
                    Just("url".to_string()),
                    Just("choices".to_string()),
                    Just("delta".to_string()),
                    Just("index".to_string()),
                    Just("arguments".to_string()),
                    "[a-z]{1,4}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_bytes_make_content_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut c = Content::from_request_bytes(&bytes, 1024);
        c.seal(&redactor(), 1024);
        prop_assert_eq!(Content::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
    }

    #[test]
    fn any_json_makes_content_bounded_and_round_trips(v in json_value(), max in 1usize..4096) {
        let mut c = Content::from_request(&v);
        c.answer = Some(Answer::from_response(&v));
        let mut s = StreamAnswer::new(max);
        s.push(&v);
        s.push(&v);
        let (streamed, _) = s.finish(false);
        c.seal(&redactor(), max);
        let texts: usize = c.messages.iter().flat_map(|m| &m.parts).map(|p| match p {
            Part::Text { text } => text.len(),
            Part::Blob(_) => 0,
        }).sum();
        prop_assert!(texts <= max);
        prop_assert_eq!(Content::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
        let total: usize = streamed.text.map_or(0, |t| t.len())
            + streamed.refusal.map_or(0, |t| t.len())
            + streamed.tool_calls.iter().map(|c| c.name.len() + c.arguments.len()).sum::<usize>();
        prop_assert!(total <= max);
    }
}
