use super::*;
use proptest::prelude::*;
use serde_json::Value;

/// What the fast path alone makes of `text` (None: it gave up).
fn fast(text: &str) -> Option<Value> {
    read::<Value>(text)
}

/// The fast path never accepts what serde_json refuses, and reads what both accept the same.
fn agrees(text: &str) {
    let reference = serde_json::from_str::<Value>(text);
    if let Some(v) = fast(text) {
        match &reference {
            Ok(r) => assert_eq!(&v, r, "{text:?}"),
            Err(e) => panic!("the fast path accepted {text:?}, which serde_json refuses: {e}"),
        }
    }
    match (from_str::<Value>(text), reference) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text:?}"),
        (a, b) => panic!("{text:?}: from_str gave {a:?}, serde_json {b:?}"),
    }
}

const CHUNK: &str = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"Annual plans"},"logprobs":null,"finish_reason":null}],"usage":null}"#;

#[test]
fn reads_a_chat_chunk_itself() {
    let v = fast(CHUNK).expect("a plain chunk is the fast path's to read");
    assert_eq!(v, serde_json::from_str::<Value>(CHUNK).unwrap());
}

#[test]
fn reads_what_it_hands_to_serde_json_the_same() {
    for text in [
        r#"{"content":"line one\nline \"two\" \u00e9 \ud83d\ude00"}"#,
        r#"[-1, -0, 0, 1.5, -2.25e-3, 1E2, 18446744073709551615, 18446744073709551616, -9223372036854775808]"#,
        r#"{"logprobs":{"content":[{"token":"A","logprob":-0.0001}]}}"#,
        " \t\r\n{ \"a\" : [ true , false , null ] } \n",
        r#"{"a":1,"a":2}"#,
        r#""just a string""#,
        "12345",
        "[]",
        "{}",
    ] {
        assert!(
            fast(text).is_some(),
            "{text:?} should be read by the fast path"
        );
        agrees(text);
    }
}

#[test]
fn leaves_everything_doubtful_to_serde_json() {
    for text in [
        "",
        " ",
        "{",
        "[1,]",
        r#"{"a":1,}"#,
        r#"{"a" 1}"#,
        "{1:2}",
        "[1 2]",
        "01",
        "-",
        "1.",
        ".5",
        "+1",
        "1e400",
        "-1e400",
        "tru",
        "nulls",
        "NaN",
        "\"tab\there\"",
        r#""\x""#,
        r#""\ud800""#,
        r#""\ud800\u0041""#,
        r#""unterminated"#,
        r#""a" "b""#,
        "{} x",
        "[1]]",
        "\u{feff}{}",
    ] {
        assert!(fast(text).is_none(), "{text:?} must be left to serde_json");
        agrees(text);
    }
}

#[test]
fn deep_nesting_is_serde_jsons_to_judge() {
    for depth in [99, 100, 101, 127, 128, 129, 200] {
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(
            fast(&text).is_some(),
            depth <= MAX_DEPTH as usize,
            "depth {depth}"
        );
        agrees(&text);
    }
}

#[test]
fn typed_reads_match_serde_json() {
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Usage<'a> {
        prompt_tokens: u32,
        completion_tokens: Option<u64>,
        #[serde(borrow)]
        model: Option<&'a str>,
        #[serde(default)]
        cached: Vec<i64>,
    }
    for text in [
        r#"{"prompt_tokens":14,"completion_tokens":null,"model":"m","cached":[-1,2]}"#,
        r#"{"prompt_tokens":14,"completion_tokens":3,"extra":{"x":[1e400]}}"#,
        r#"{"prompt_tokens":-1,"completion_tokens":3}"#,
        r#"{"prompt_tokens":14,"model":"has \"escapes\""}"#,
        r#"[14, 3, "m", []]"#,
    ] {
        let a = from_str::<Usage<'_>>(text).map_err(|e| e.to_string());
        let b = serde_json::from_str::<Usage<'_>>(text).map_err(|e| e.to_string());
        assert_eq!(a, b, "{text:?}");
    }
}

/// Pieces of JSON and of near-JSON, glued at random: mostly invalid documents, with valid
/// ones among them, to find any the fast path reads differently from serde_json.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\n",
        "\"a\"",
        "\"content\"",
        "\"\\n\"",
        "\"\\u00e9\"",
        "\"\\ud800\"",
        "\"\\\"\"",
        "\"\u{7}\"",
        "\"é\"",
        "0",
        "1",
        "-",
        "-0",
        "12",
        "1.5",
        "e",
        "E5",
        "1e400",
        "18446744073709551616",
        "true",
        "false",
        "null",
        "nul",
        "\"",
        "\\",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn glued_pieces_agree(parts in prop::collection::vec(piece(), 0..24)) {
        agrees(&parts.concat());
    }

    #[test]
    fn a_chunk_with_one_byte_changed_agrees(at in 0..CHUNK.len(), byte in prop::sample::select(b"{}[],:\" \\0-e.ntfa\x01".to_vec())) {
        let mut text = CHUNK.as_bytes().to_vec();
        text[at] = byte;
        if let Ok(text) = String::from_utf8(text) {
            agrees(&text);
        }
    }
}

proptest! {
    #[test]
    fn plain_run_stops_where_a_byte_at_a_time_scan_stops(
        bytes in prop::collection::vec(prop::sample::select(b"a\"\\\x00\x1f\x20\x7f\x80\xffz".to_vec()), 0..40),
        from in 0usize..8,
    ) {
        let from = from.min(bytes.len());
        let naive = (from..bytes.len())
            .find(|&i| matches!(bytes[i], b'"' | b'\\' | 0..=0x1f))
            .unwrap_or(bytes.len());
        prop_assert_eq!(plain_run(&bytes, from), naive);
    }
}

#[test]
fn a_borrowed_peek_reads_as_serde_json_reads_it() {
    #[derive(serde::Deserialize)]
    struct Peek<'a> {
        #[serde(borrow, default)]
        model: Option<std::borrow::Cow<'a, str>>,
        #[serde(default)]
        error: Option<de::IgnoredAny>,
    }
    let seen = |p: Peek<'_>| {
        let borrowed = matches!(p.model, Some(std::borrow::Cow::Borrowed(_)));
        (p.model.map(|m| m.into_owned()), p.error.is_some(), borrowed)
    };
    for text in [
        r#"{"id":"x","model":"m-1","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":1}}"#,
        r#"{"model":"a\"b","error":null}"#,
        r#"{"error":{"message":"down"},"model":null}"#,
        r#"{"model":1}"#,
        r#"["m", null]"#,
        "not json",
    ] {
        let a = from_slice::<Peek<'_>>(text.as_bytes())
            .map(seen)
            .map_err(|e| e.to_string());
        let b = serde_json::from_slice::<Peek<'_>>(text.as_bytes())
            .map(seen)
            .map_err(|e| e.to_string());
        assert_eq!(a, b, "{text:?}");
    }
    assert_eq!(
        from_slice::<Value>(b"\xff").map_err(|e| e.to_string()),
        serde_json::from_slice::<Value>(b"\xff").map_err(|e| e.to_string())
    );
}

/// Reads one field and ignores the rest, as the answer's peek does.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct Sparse {
    #[serde(default)]
    a: Option<u64>,
}

/// The fast path's reading of a document with ignored values (`IgnoredAny`) never accepts what
/// serde_json refuses, and gives the fields it reads as serde_json reads them.
fn skips_as_serde_json(text: &str) {
    let reference = serde_json::from_str::<Sparse>(text);
    if let Some(v) = read::<Sparse>(text) {
        match &reference {
            Ok(r) => assert_eq!(&v, r, "{text:?}"),
            Err(e) => panic!("the fast path accepted {text:?}, which serde_json refuses: {e}"),
        }
    }
    assert_eq!(
        from_str::<Sparse>(text).map_err(|e| e.to_string()),
        reference.map_err(|e| e.to_string()),
        "{text:?}"
    );
}

#[test]
fn ignored_values_are_read_as_serde_json_reads_them() {
    for ignored in [
        r#"{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"logprobs":null}],"created":1767225600}"#,
        r#""line one\nline \"two\" \u00e9""#,
        "[-1, -0, 0, 1.5, -2.25e-3, 1E2, 18446744073709551616, true, false, null]",
        r#"{"k\"ey":[{}, [], ""]}"#,
    ] {
        let text = format!(r#"{{"a":7,"x":{ignored}}}"#);
        assert_eq!(read::<Sparse>(&text), Some(Sparse { a: Some(7) }), "{text}");
        skips_as_serde_json(&text);
    }
    // Out of a number's range: accepted when ignored, by serde_json.
    skips_as_serde_json(r#"{"a":7,"x":1e400}"#);
    for bad in [
        "01",
        "1.",
        "-",
        "\"\\x\"",
        "{\"\\x\":1}",
        "[1,]",
        "{\"a\" 1}",
        "tru",
        "\"\u{1}\"",
    ] {
        let text = format!(r#"{{"a":7,"x":{bad}}}"#);
        assert_eq!(read::<Sparse>(&text), None, "{text}");
        skips_as_serde_json(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn ignored_glued_pieces_agree(parts in prop::collection::vec(piece(), 0..24)) {
        skips_as_serde_json(&format!(r#"{{"x":{},"a":3}}"#, parts.concat()));
    }
}
